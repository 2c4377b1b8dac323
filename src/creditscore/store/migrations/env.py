"""Alembic environment of the decision log, importable from the installed package.

The app runs ``upgrade head`` itself (``decisions.upgrade_schema``), passing its open
connection in ``config.attributes["connection"]``. From the command line, give the URL with
``-x url=...`` or ``sqlalchemy.url``; otherwise CREDITSCORE_DATABASE_URL (or the SQLite
default) is used. Offline mode (``--sql``) prints the SQL for a DBA instead.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection

from creditscore.store.tables import VERSION_TABLE, metadata

config = context.config


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if url:
        return url
    from creditscore.settings import Settings

    return Settings().decision_log_url()


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(
        url=_url(),
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    given = config.attributes.get("connection")
    if given is not None:
        _run(given)
    else:
        engine = create_engine(_url())
        with engine.begin() as conn:
            _run(conn)
        engine.dispose()
