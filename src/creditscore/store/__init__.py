"""The database of record: the tables the service, batch runs and monitoring share, the
engine that opens them, and the Alembic migrations that create and upgrade them.

Four tables live here: ``decisions`` (the service's audit log, one row per decision),
``request_errors`` (the scoring requests it refused or failed, one row each),
``outcomes`` (observed good/bad by application id, loaded by ``creditscore outcomes``) and
``scoring_runs`` (one row per ``creditscore score`` run). Their schema is owned by the
migrations in ``migrations/`` (version table ``creditscore_decisions_version``, so the
database can be shared with MLflow); :func:`creditscore.store.engine.upgrade_schema` runs
them. Nothing here knows who writes a row: the writers are ``serving.decisions`` (decisions
and request errors, through one writer), ``monitoring.outcomes`` and ``batch.runs``.
"""
