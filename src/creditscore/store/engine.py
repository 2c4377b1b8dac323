"""Opening the database of record and bringing its schema up to date."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.pool import NullPool

from creditscore.exceptions import ConfigError


def migrations_path() -> Path:
    return Path(str(resources.files("creditscore.store") / "migrations"))


def upgrade_schema(connection: Connection) -> None:
    """Bring the decision log schema to the newest migrations (Alembic ``upgrade heads``:
    every branch, so tables added side by side each get their migration)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_path()))
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "heads")


def _transactional_sqlite(engine: Engine) -> None:
    """Let SQLAlchemy, not pysqlite, open transactions: pysqlite runs DDL outside any
    transaction, so a migration cut short by a failing disk would leave a table without its
    version stamp ('table decisions already exists' for ever after). SQLAlchemy's documented
    recipe for SQLite: disable pysqlite's own handling and emit BEGIN ourselves."""

    @sa.event.listens_for(engine, "connect")
    def _no_pysqlite_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN")


def make_engine(url: str) -> Engine:
    """An engine for the writer thread. SQLite opens a fresh connection per batch, so a
    file that became unwritable (or writable again) is noticed at the next write."""
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError as exc:
        raise ConfigError(f"CREDITSCORE_DATABASE_URL is not a database URL: {exc}") from None
    try:
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(parsed, poolclass=NullPool, connect_args={"timeout": 2})
            _transactional_sqlite(engine)
            return engine
        if parsed.get_backend_name() == "postgresql":
            return sa.create_engine(
                parsed,
                pool_size=2,
                max_overflow=0,
                pool_pre_ping=True,
                connect_args={"connect_timeout": 3},
            )
    except ImportError as exc:
        raise ConfigError(
            f"the database driver for {parsed.drivername!r} is not installed ({exc}); "
            "for PostgreSQL install creditscore[postgres] and use postgresql+psycopg://"
        ) from None
    raise ConfigError(
        f"decision log database {parsed.get_backend_name()!r} is not supported; "
        "use sqlite:///path/decisions.db or postgresql+psycopg://user@host/db"
    )
