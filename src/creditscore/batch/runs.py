"""Run records: every batch run in the decision-log database, so monitoring and an auditor
can find what was scored, from which file (its checksum), with which model, and when.

A run is inserted as ``running`` before the first row is read, and updated to
``completed`` (with the counts) or ``failed`` (with the error); a run that was killed stays
``running``, and ``--resume`` continues the same record (``attempts`` counts the starts).
The table (``scoring_runs``) sits beside the decisions in the database
``CREDITSCORE_DATABASE_URL`` names, created by the decision log's Alembic migrations.
"""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from creditscore.batch.result import ScoringRun
from creditscore.exceptions import ConfigError
from creditscore.store.engine import make_engine, upgrade_schema
from creditscore.store.tables import scoring_runs_table

__all__ = ["RunRecorder", "find_runs"]


def _describe(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    lines = str(orig if orig is not None else exc).strip().splitlines()
    return f"{type(orig or exc).__name__}: {lines[0] if lines else ''}"[:300]


class RunRecorder:
    """Writes one run's record; every write is one short transaction."""

    def __init__(self, url: str | None = None) -> None:
        if url is None:
            from creditscore.settings import get_settings

            url = get_settings().decision_log_url()
        self.url = url
        self.engine = make_engine(url)
        self._ready = False

    def _begin(self) -> Any:
        try:
            if not self._ready:
                with self.engine.begin() as conn:
                    upgrade_schema(conn)
                self._ready = True
            return self.engine.begin()
        except sa.exc.SQLAlchemyError as exc:
            raise ConfigError(
                f"cannot write the run record to {self.engine.url.render_as_string()} "
                f"({_describe(exc)}); check CREDITSCORE_DATABASE_URL"
            ) from None

    def started(self, row: dict[str, Any]) -> None:
        """Insert the run as ``running`` (or, on a resume, mark it running again)."""
        from creditscore.tracking import current_user

        table = scoring_runs_table
        values = {
            "status": "running",
            "user_name": current_user(),
            "host": platform.node()[:200],
            "rows_read": 0,
            "rows_scored": 0,
            "rows_rejected": 0,
            "approved": 0,
            "referred": 0,
            "declined": 0,
            "attempts": 1,
            **row,
        }
        with self._begin() as conn:
            found = conn.execute(
                sa.select(table.c.attempts).where(table.c.run_id == values["run_id"])
            ).first()
            if found is None:
                conn.execute(table.insert().values(**values))
            else:
                values["attempts"] = int(found[0]) + 1
                values.pop("started_at", None)
                conn.execute(
                    table.update().where(table.c.run_id == values["run_id"]).values(**values)
                )

    def finished(self, run: ScoringRun) -> None:
        t = run.tally
        self._update(
            run.run_id,
            status="completed",
            finished_at=datetime.fromisoformat(run.finished_at),
            seconds=run.seconds,
            input_checksum=run.input_checksum,
            rows_read=t.rows,
            rows_scored=t.scored,
            rows_rejected=t.rejected,
            approved=t.decisions.get("approve", 0),
            referred=t.decisions.get("refer", 0),
            declined=t.decisions.get("decline", 0),
            mean_pd=t.mean_pd,
            error=None,
        )

    def failed(self, run_id: str, error: str) -> None:
        self._update(run_id, status="failed", finished_at=datetime.now(UTC), error=error[:2000])

    def _update(self, run_id: str, **values: Any) -> None:
        table = scoring_runs_table
        with self._begin() as conn:
            conn.execute(table.update().where(table.c.run_id == run_id).values(**values))

    def close(self) -> None:
        self.engine.dispose()


def find_runs(url: str | None = None, *, output_path: str | None = None) -> list[dict[str, Any]]:
    """Run records, newest first (of one output file, if given): for monitoring and audits."""
    recorder = RunRecorder(url)
    table = scoring_runs_table
    query = sa.select(table).order_by(table.c.started_at.desc())
    if output_path is not None:
        query = query.where(table.c.output_path == output_path)
    try:
        with recorder._begin() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]
    finally:
        recorder.close()
