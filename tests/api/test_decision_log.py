"""The decision log loses nothing and duplicates nothing, whatever the database does."""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from creditscore.serving.app import create_app
from creditscore.serving.decisions import DecisionLog
from creditscore.store.engine import make_engine, migrations_path

from .conftest import TestClient
from .helpers import (
    AUTH,
    PG_PORT,
    TcpProxy,
    application,
    make_settings,
    pg_url,
    unwritable,
    wait_for,
)


def record(**overrides: Any) -> dict[str, Any]:
    return {
        "request_id": uuid.uuid4().hex,
        "created_at": datetime.now(UTC).isoformat(),
        "application_id": None,
        "endpoint": "single",
        "model_name": "m",
        "model_version": "1",
        "policy_version": "p",
        "probability_of_default": 0.1,
        "score": 600,
        "risk_band": "LOW",
        "decision": "approve",
        "reasons": [],
        "inputs": {"x": 1.0},
        "latency_ms": 0.5,
        **overrides,
    }


def sqlite_ids(path: Path) -> list[str]:
    con = sqlite3.connect(path)
    try:
        return [r[0] for r in con.execute("SELECT request_id FROM decisions")]
    finally:
        con.close()


def new_log(tmp_path: Path, **kw: Any) -> DecisionLog:
    kw = {"flush_interval": 0.02, "retry_interval": 0.1, **kw}
    return DecisionLog(f"sqlite:///{tmp_path / 'log.db'}", tmp_path / "spool.jsonl", **kw)


def test_writes_in_batches_and_replays_the_spool_idempotently(tmp_path: Path) -> None:
    log = new_log(tmp_path)
    log.start()
    first = [record() for _ in range(50)]
    log.submit_many(first)
    assert log.flush(10)
    # a spool holding records already written and new ones (as after a crash mid-replay)
    again = [*first[:10], *(record() for _ in range(5))]
    log.spool.append(again)
    log._refresh_pending()
    assert log.flush(10), log.stats()
    log.close()
    ids = sqlite_ids(tmp_path / "log.db")
    assert sorted(ids) == sorted({r["request_id"] for r in first + again})
    assert not list(tmp_path.glob("spool.jsonl*"))


def test_a_full_queue_spools_instead_of_blocking(tmp_path: Path) -> None:
    log = new_log(tmp_path, queue_size=2)
    records = [record() for _ in range(7)]
    for r in records:
        log.submit(r)  # writer not started: the queue fills up
    assert log.stats()["queued"] == 2
    assert log.stats()["spool_pending"] == 5
    log.start()
    assert log.flush(10), log.stats()
    log.close()
    assert sorted(sqlite_ids(tmp_path / "log.db")) == sorted(r["request_id"] for r in records)


def test_request_errors_share_the_queue_and_the_spool(tmp_path: Path) -> None:
    """Failed-request records take the decisions' path: queued, spooled when the queue is
    full, replayed into their own table, and never duplicated by a second replay."""
    from creditscore.serving.request_errors import build_error_record

    log = new_log(tmp_path, queue_size=3)
    problems = [{"field": "applications", "type": "missing"}]
    errors = [build_error_record("/v1/decisions", 422, "invalid_request", problems, None, 1.0)
              for _ in range(6)]  # fmt: skip
    decisions = [record() for _ in range(4)]
    for r in [x for pair in zip(errors, decisions, strict=False) for x in pair] + errors[4:]:
        log.submit(r)  # writer not started: 3 queued, 7 spooled
    assert log.stats()["spool_pending"] == 7
    log.spool.append(errors[:2])  # already spooled once: replayed twice, stored once
    log._refresh_pending()
    log.start()
    assert log.flush(10), log.stats()
    log.close()
    assert sorted(sqlite_ids(tmp_path / "log.db")) == sorted(r["request_id"] for r in decisions)
    con = sqlite3.connect(tmp_path / "log.db")
    try:
        stored = con.execute("SELECT error_id, status_code, field FROM request_errors").fetchall()
    finally:
        con.close()
    assert sorted(e for e, _, _ in stored) == sorted(r["error_id"] for r in errors)
    assert {(status, field) for _, status, field in stored} == {(422, "applications")}


def test_shutdown_flushes_everything(tmp_path: Path) -> None:
    log = new_log(tmp_path, flush_interval=5.0)
    log.start()
    records = [record() for _ in range(300)]
    log.submit_many(records)
    log.close()
    assert len(sqlite_ids(tmp_path / "log.db")) == 300


def test_torn_spool_line_is_skipped_not_fatal(tmp_path: Path) -> None:
    log = new_log(tmp_path)
    good = record()
    (tmp_path / "spool.jsonl").write_text(json.dumps(good) + "\n" + '{"request_id": "torn')
    log.start()
    assert log.flush(10), log.stats()
    log.close()
    assert sqlite_ids(tmp_path / "log.db") == [good["request_id"]]


def test_sqlite_ddl_is_transactional(tmp_path: Path) -> None:
    """A migration cut short leaves nothing behind (pysqlite alone would have committed the
    CREATE TABLE, and the next start would fail with 'table already exists')."""
    engine = make_engine(f"sqlite:///{tmp_path / 'ddl.db'}")

    def cut_short() -> None:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE half_done (x INTEGER)"))
            raise RuntimeError("disk failed before the version stamp")

    with pytest.raises(RuntimeError):
        cut_short()
    assert "half_done" not in sa.inspect(engine).get_table_names()
    engine.dispose()


def test_flush_waits_for_the_batch_the_writer_holds(tmp_path: Path) -> None:
    """flush() is True only once records are in the database, not when the queue is empty."""
    log = new_log(tmp_path, health_interval=600)  # no health check blocks on the slow disk
    log.start()
    assert log.flush(10)  # schema ready, writer idle
    entered, release = threading.Event(), threading.Event()

    @sa.event.listens_for(log.engine, "before_cursor_execute")
    def _slow_disk(*_args: Any) -> None:
        if threading.current_thread().name == "decision-log-writer" and not release.is_set():
            entered.set()
            release.wait(10)

    records = [record() for _ in range(3)]
    log.submit_many(records)
    assert entered.wait(10)  # the writer took the batch: the queue is empty now
    assert log.stats()["queued"] == 0
    assert not log.flush(0.3)  # ... but nothing is written yet
    release.set()
    assert log.flush(10)
    assert sorted(sqlite_ids(tmp_path / "log.db")) == sorted(r["request_id"] for r in records)
    log.close()


def _post_many(client: TestClient, body: dict[str, Any], n: int) -> list[str]:
    ids = []
    for _ in range(n):
        r = client.post("/v1/decisions", json=body, headers=AUTH)
        assert r.status_code == 200, r.text
        ids.append(r.json()["request_id"])
    return ids


def _ready(client: TestClient) -> dict[str, Any]:
    return client.get("/ready").json()  # type: ignore[no-any-return]


@pytest.mark.slow
def test_sqlite_file_unwritable_mid_run(trained, tmp_path: Path, rows, features) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path)
    body = application(rows[0], features)
    with TestClient(create_app(settings, trained.bundle)) as client:
        sent = _post_many(client, body, 10)
        assert wait_for(lambda: _ready(client)["status"] == "ready")
        db = tmp_path / "decisions.db"
        with unwritable(db):
            sent += _post_many(client, body, 25)
            degraded = wait_for(lambda: _ready(client)["status"] == "degraded", timeout=30)
            assert degraded, json.dumps(_ready(client))
            status = _ready(client)["decision_log"]
            assert status["database"] == "unreachable"
            assert status["last_error"].startswith("OperationalError")  # readonly or I/O
            assert status["spool_pending"] > 0
            sent += _post_many(client, body, 5)
            # on disk: the spool, or the private copy a replay attempt renamed it to (every
            # retry claims it, so the spool itself may be absent for that moment)
            on_disk = [*tmp_path.glob("decisions-spool.jsonl"),
                       *tmp_path.glob("decisions-spool.jsonl.*.replaying")]  # fmt: skip
            assert on_disk
        sent += _post_many(client, body, 10)
        recovered = wait_for(lambda: _ready(client)["status"] == "ready", timeout=30)
        assert recovered, json.dumps(_ready(client))
    ids = sqlite_ids(tmp_path / "decisions.db")
    assert len(ids) == len(sent) == 50
    assert set(ids) == set(sent)
    assert not list(tmp_path.glob("decisions-spool.jsonl*"))


# --------------------------------------------------------------------------- PostgreSQL
def _pg_ids(user: str, schema: str) -> list[str]:
    engine = sa.create_engine(pg_url(user, schema))
    try:
        with engine.connect() as conn:
            return [r[0] for r in conn.execute(sa.text("SELECT request_id FROM decisions"))]
    finally:
        engine.dispose()


def migration_heads() -> set[str]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_path()))
    return set(ScriptDirectory.from_config(cfg).get_heads())


@pytest.mark.postgres
def test_postgres_log_and_migration(trained, tmp_path: Path, pg_schema, rows, features) -> None:  # type: ignore[no-untyped-def]
    user, schema = pg_schema
    settings = make_settings(tmp_path, database_url=pg_url(user, schema))
    with TestClient(create_app(settings, trained.bundle)) as client:
        sent = _post_many(client, application(rows[0], features, application_id="P-1"), 5)
        assert client.app.state.serving.log.flush(10)  # type: ignore[attr-defined]
        assert _ready(client)["decision_log"]["backend"] == "postgresql"
    assert sorted(_pg_ids(user, schema)) == sorted(sent)
    engine = sa.create_engine(pg_url(user, schema))
    with engine.connect() as conn:
        versions = set(
            conn.execute(sa.text("SELECT version_num FROM creditscore_decisions_version"))
            .scalars()
            .all()
        )
        kind = conn.execute(
            sa.text(
                "SELECT data_type FROM information_schema.columns WHERE table_schema = :s "
                "AND table_name = 'decisions' AND column_name = 'inputs'"
            ),
            {"s": schema},
        ).scalar()
    engine.dispose()
    assert versions == migration_heads()  # every branch of the migrations applied
    assert kind == "jsonb"


@pytest.mark.postgres
@pytest.mark.slow
def test_postgres_connection_refused_mid_run(
    trained, tmp_path: Path, pg_schema, rows, features
) -> None:  # type: ignore[no-untyped-def]
    user, schema = pg_schema
    proxy = TcpProxy(PG_PORT)
    proxy.start()
    settings = make_settings(tmp_path, database_url=pg_url(user, schema, proxy.port))
    body = application(rows[0], features)
    try:
        with TestClient(create_app(settings, trained.bundle)) as client:
            sent = _post_many(client, body, 10)
            assert wait_for(lambda: _ready(client)["status"] == "ready")
            proxy.stop()  # connection refused from now on
            sent += _post_many(client, body, 25)
            assert wait_for(lambda: _ready(client)["status"] == "degraded", timeout=15), _ready(
                client
            )
            assert _ready(client)["decision_log"]["database"] == "unreachable"
            sent += _post_many(client, body, 5)
            proxy.start()
            sent += _post_many(client, body, 10)
            recovered = wait_for(lambda: _ready(client)["status"] == "ready", timeout=20)
            assert recovered, json.dumps(_ready(client))
    finally:
        proxy.stop()
    ids = _pg_ids(user, schema)
    assert len(ids) == len(sent) == 50
    assert set(ids) == set(sent)
    assert not list(tmp_path.glob("decisions-spool.jsonl*"))


def test_records_arriving_together_are_one_write(tmp_path: Path) -> None:
    """The writer gathers a flush interval's records into one transaction instead of one
    per decision (each write holds the serving thread's GIL)."""
    log = new_log(tmp_path, flush_interval=0.5)
    writes: list[int] = []
    insert = log._insert_rows

    def counted(records: Any) -> None:
        writes.append(len(records))
        insert(records)

    log._insert_rows = counted  # type: ignore[method-assign]
    log.start()
    assert log.first_contact.wait(10)
    for _ in range(40):
        log.submit(record())
    assert log.flush(10), log.stats()
    log.close()
    assert writes == [40]
    assert len(sqlite_ids(tmp_path / "log.db")) == 40


def test_shutdown_does_not_wait_out_the_flush_interval(tmp_path: Path) -> None:
    log = new_log(tmp_path, flush_interval=60.0)
    log.start()
    assert log.first_contact.wait(10)
    held = record()
    log.submit(held)
    wait_for(lambda: log._queue.qsize() == 0)  # the writer holds it, gathering a batch
    log.close(timeout=10)
    assert sqlite_ids(tmp_path / "log.db") == [held["request_id"]]
