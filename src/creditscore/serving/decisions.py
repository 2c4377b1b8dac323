"""The decision log: every decision stored once, without ever slowing scoring down.

Requests hand a record (a JSON-safe dict) to :meth:`DecisionLog.submit`, which only puts it
on a bounded in-memory queue (or, if the queue is full, appends it to the spool file). One
background thread writes the queue to the database in batches with
``INSERT ... ON CONFLICT (request_id) DO NOTHING``, on SQLite and PostgreSQL alike, so any
record can be written again without being duplicated.

When the database fails, the batch goes to a local JSON-lines spool file and the writer
retries every ``retry_interval`` seconds; once the database answers, the spool is replayed
(idempotently) and removed. Several processes (``--workers``) may share one spool: appends
take an exclusive ``flock``, and a replay first renames the spool to a private
``*.replaying`` file, which it keeps locked while it works, so a crashed replay is picked up
again by whoever looks next. Shutdown drains the queue (to the database or the spool).

The same writer stores the request errors of :mod:`creditscore.serving.request_errors`
(records marked ``"record": "request_errors"``) in their own table, through the same queue
and spool, so a failure is as durable as a decision and costs the request no more. The
tables are defined in ``creditscore.store``, which creates and upgrades them with its
Alembic migrations (``upgrade heads`` runs before the first write).
"""

from __future__ import annotations

import contextlib
import fcntl
import hmac
import json
import logging
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from creditscore.store.engine import make_engine, upgrade_schema
from creditscore.store.tables import (
    COLUMNS,
    REQUEST_ERROR_COLUMNS,
    REQUEST_ERRORS_TABLE,
    decisions_table,
    request_errors_table,
)

log = logging.getLogger("creditscore.serving.decisions")

#: The key of a record that belongs to another table than ``decisions`` (its name).
RECORD_KEY = "record"


def _insert_statement(engine: Engine, table: sa.Table, key: str) -> Any:
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing(index_elements=[key])


def _to_row(record: dict[str, Any], columns: Sequence[str] = COLUMNS) -> dict[str, Any]:
    row = {c: record.get(c) for c in columns}
    created = row["created_at"]
    if isinstance(created, str):
        row["created_at"] = datetime.fromisoformat(created)
    return row


def _describe(exc: BaseException) -> str:
    """A one-line error without SQL parameters (they would hold decision data)."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip().splitlines()
    return f"{type(orig or exc).__name__}: {text[0] if text else ''}"[:300]


class Spool:
    """An append-only JSON-lines file shared safely by threads and processes."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._claims = 0

    def append(self, records: Sequence[dict[str, Any]]) -> None:
        data = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records).encode()
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            while True:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                    try:
                        same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
                    except FileNotFoundError:
                        same = False
                    if not same:  # renamed by a replay while we waited: open the new file
                        continue
                    os.write(fd, data)
                    os.fsync(fd)
                    return
                finally:
                    os.close(fd)

    def _pattern(self) -> str:
        return f"{self.path.name}.*.replaying"

    def pending(self) -> int:
        """Records waiting in the spool (lines in the spool and any replay files)."""
        total = 0
        for p in [self.path, *self.path.parent.glob(self._pattern())]:
            with contextlib.suppress(OSError), p.open("rb") as fh:
                total += sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
        return total

    def has_pending(self) -> bool:
        try:
            if self.path.stat().st_size > 0:
                return True
        except FileNotFoundError:
            pass
        return any(True for _ in self.path.parent.glob(self._pattern()))

    def claim(self) -> None:
        """Move the shared spool aside under a private name, for replay."""
        with self._lock:
            try:
                fd = os.open(self.path, os.O_RDONLY)
            except FileNotFoundError:
                return
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                try:
                    same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
                except FileNotFoundError:
                    return
                if same and os.fstat(fd).st_size > 0:
                    self._claims += 1
                    target = self.path.with_name(
                        f"{self.path.name}.{os.getpid()}-{self._claims}-{time.time_ns()}.replaying"
                    )
                    os.rename(self.path, target)
            finally:
                os.close(fd)

    @contextlib.contextmanager
    def replay_files(self) -> Iterator[list[tuple[Path, int]]]:
        """Replay files nobody else is replaying, locked for the caller."""
        held: list[tuple[Path, int]] = []
        try:
            for p in sorted(self.path.parent.glob(self._pattern())):
                try:
                    fd = os.open(p, os.O_RDONLY)
                except FileNotFoundError:
                    continue
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    continue
                if not p.exists():  # finished and removed by its owner just before our lock
                    os.close(fd)
                    continue
                held.append((p, fd))
            yield held
        finally:
            for _, fd in held:
                os.close(fd)

    @staticmethod
    def read(fd: int) -> tuple[list[dict[str, Any]], int]:
        """The records of an open spool file, and how many torn lines were skipped."""
        with os.fdopen(os.dup(fd), "rb") as fh:
            fh.seek(0)
            records, torn = [], 0
            for line in fh:
                try:
                    records.append(json.loads(line))
                except ValueError:
                    torn += 1
            return records, torn


class DecisionLog:
    """Background, batched, spooling writer of decision records."""

    def __init__(
        self,
        url: str,
        spool_path: Path,
        *,
        queue_size: int = 10_000,
        batch_size: int = 500,
        flush_interval: float = 0.2,
        retry_interval: float = 2.0,
        health_interval: float = 5.0,
    ) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.spool = Spool(spool_path)
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.retry_interval = retry_interval
        self.health_interval = health_interval
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=queue_size)
        # records that could be neither written nor spooled (disk trouble): retried later
        self._held: deque[dict[str, Any]] = deque(maxlen=10 * queue_size)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._insert: Any = None
        self._insert_error: Any = None
        self._schema_ready = False
        self._db_ok: bool | None = None  # None: not tried yet
        self._last_error: str | None = None
        self._next_retry = 0.0
        self._last_contact = 0.0
        self._pending_cache = 0
        self.written = 0
        self.spooled = 0
        self.lost = 0
        self.first_contact = threading.Event()

    # ------------------------------------------------------------------ request side
    def submit(self, record: dict[str, Any]) -> None:
        """Never blocks on the database: queue it, or spool it if the queue is full."""
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            self._spool([record])

    def submit_many(self, records: Sequence[dict[str, Any]]) -> None:
        overflow: list[dict[str, Any]] = []
        for record in records:
            try:
                self._queue.put_nowait(record)
            except queue.Full:
                overflow.append(record)
        if overflow:
            self._spool(overflow)

    # ------------------------------------------------------------------ status
    def stats(self) -> dict[str, Any]:
        db = "starting" if self._db_ok is None else ("ok" if self._db_ok else "unreachable")
        return {
            "database": db,
            "queued": self._queue.qsize(),
            "spool_pending": self._pending_cache + len(self._held),
            "written": self.written,
            "spooled": self.spooled,
            "lost": self.lost,
            "last_error": self._last_error,
        }

    def status(self) -> dict[str, Any]:
        """For /ready: 'ok', 'starting' or 'degraded' (database down or spool not empty)."""
        s = self.stats()
        if s["database"] == "starting":
            state = "starting"
        elif s["database"] != "ok" or s["spool_pending"]:
            state = "degraded"
        else:
            state = "ok"
        return {"status": state, "backend": self.engine.dialect.name, **s}

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        if self._thread is not None:
            return
        self._refresh_pending()
        self._thread = threading.Thread(target=self._run, name="decision-log-writer", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 10.0) -> None:
        """Write (or spool) everything queued, then stop the writer."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        # anything the writer could not take (it was stuck on the database): spool it
        leftover = self._drain(10**9)
        if leftover:
            self._spool(leftover)
            self._done(len(leftover))
        self.engine.dispose()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until the queue is empty and the spool replayed (for tests and shutdown)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # unfinished_tasks, not empty(): a batch the writer holds is not written yet
            idle = self._queue.unfinished_tasks == 0 and not self._held
            if idle and self._db_ok and not self._pending_cache:
                return True
            time.sleep(0.02)
        return False

    # ------------------------------------------------------------------ writer thread
    def _drain(self, limit: int) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while len(items) < limit:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return items

    def _take(self) -> list[dict[str, Any]]:
        try:
            first = self._queue.get(timeout=self.flush_interval)
        except queue.Empty:
            return []
        if self._queue.qsize() < self.batch_size - 1:
            # Gather a batch: one write per flush interval rather than one per decision.
            # A write costs the serving thread the GIL for about as long whatever its
            # size, so writing each decision as it comes slows every request down.
            self._stop.wait(self.flush_interval)
        return [first, *self._drain(self.batch_size - 1)]

    def _run(self) -> None:
        self._contact()
        while not self._stop.is_set():
            try:
                self._cycle(self._take())
            except Exception:  # the writer must survive anything
                log.exception("decision log writer: unexpected error")
                time.sleep(self.retry_interval)
        # shutdown: write what is queued (database or spool); replay once if we can
        while batch := self._drain(self.batch_size):
            self._write_or_spool(batch)
            self._done(len(batch))
        if self._held:
            self._write_or_spool(list(self._held))
        if self._db_ok and self.spool.has_pending():
            self._replay()

    def _done(self, n: int) -> None:
        """``n`` records taken from the queue are now written, spooled or held."""
        for _ in range(n):
            self._queue.task_done()

    def _cycle(self, batch: list[dict[str, Any]]) -> None:
        taken = len(batch)
        if self._held:
            held = list(self._held)
            self._held.clear()
            batch = held + batch
        if batch:
            try:
                self._write_or_spool(batch)
            finally:
                self._done(taken)
        now = time.monotonic()
        if self._pending_cache and (self._db_ok or now >= self._next_retry):
            self._replay()
        elif not batch and now - self._last_contact >= self.health_interval:
            self._contact()

    def _connect_schema(self) -> None:
        if not self._schema_ready:
            with self.engine.begin() as conn:
                upgrade_schema(conn)
            self._insert = _insert_statement(self.engine, decisions_table, "request_id")
            self._insert_error = _insert_statement(self.engine, request_errors_table, "error_id")
            self._schema_ready = True

    def _mark(self, ok: bool, error: BaseException | None = None) -> None:
        was = self._db_ok
        self._db_ok = ok
        self._last_contact = time.monotonic()
        if ok:
            if was is False:
                log.warning(
                    "decision log: database %s is reachable again",
                    self.engine.url.render_as_string(),
                )
            self._last_error = None
        else:
            previous, self._last_error = (
                self._last_error,
                (_describe(error) if error else "unknown error"),
            )
            self._next_retry = time.monotonic() + self.retry_interval
            if was is False and self._last_error != previous:
                log.warning("decision log: database still failing, now with %s", self._last_error)
            elif was is not False:
                log.error(
                    "decision log: database write failed (%s); spooling to %s, retrying every %ss",
                    self._last_error,
                    self.spool.path,
                    self.retry_interval,
                )
        self.first_contact.set()

    def _contact(self) -> None:
        try:
            self._connect_schema()
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except Exception as exc:
            self._mark(False, exc)
        else:
            self._mark(True)

    def _insert_rows(self, records: Sequence[dict[str, Any]]) -> None:
        self._connect_schema()
        with self.engine.begin() as conn:
            for start in range(0, len(records), self.batch_size):
                chunk = records[start : start + self.batch_size]
                errors = [r for r in chunk if r.get(RECORD_KEY) == REQUEST_ERRORS_TABLE]
                if errors:
                    chunk = [r for r in chunk if r.get(RECORD_KEY) != REQUEST_ERRORS_TABLE]
                    rows = [_to_row(r, REQUEST_ERROR_COLUMNS) for r in errors]
                    conn.execute(self._insert_error, rows)
                if chunk:
                    conn.execute(self._insert, [_to_row(r) for r in chunk])

    def _write_or_spool(self, batch: list[dict[str, Any]]) -> None:
        if self._db_ok is False and time.monotonic() < self._next_retry:
            self._spool(batch)
            return
        try:
            self._insert_rows(batch)
        except Exception as exc:
            self._mark(False, exc)
            self._spool(batch)
        else:
            self.written += len(batch)
            self._mark(True)

    def _spool(self, records: list[dict[str, Any]]) -> None:
        try:
            self.spool.append(records)
        except OSError as exc:
            room = (self._held.maxlen or 0) - len(self._held)
            if room < len(records):
                self.lost += len(records) - max(room, 0)
                log.error(
                    "decision log: cannot spool to %s (%s); %d records lost",
                    self.spool.path,
                    exc,
                    len(records) - max(room, 0),
                )
            self._held.extend(records[: max(room, 0)])
            return
        self.spooled += len(records)
        self._pending_cache += len(records)

    def _refresh_pending(self) -> None:
        self._pending_cache = self.spool.pending() if self.spool.has_pending() else 0

    def _replay(self) -> None:
        """Write the spool to the database; on success remove it. Idempotent."""
        try:
            self.spool.claim()
            with self.spool.replay_files() as files:
                for path, fd in files:
                    records, torn = Spool.read(fd)
                    if records:
                        self._insert_rows(records)
                    self.written += len(records)
                    path.unlink()
                    if torn:
                        log.error("decision log: skipped %d unreadable lines in %s", torn, path)
                    log.warning("decision log: replayed %d spooled records", len(records))
        except Exception as exc:
            self._mark(False, exc)
        else:
            self._mark(True)
        finally:
            self._refresh_pending()


# --------------------------------------------------------------------------- records
def keyed_hash(key: bytes, field_name: str, value: Any) -> str | None:
    """HMAC-SHA256 of a protected value (None stays None): groups stay comparable for
    monitoring, while the log reveals no value to whoever lacks the key."""
    if value is None:
        return None
    message = f"{field_name}\x00{value}".encode()
    return "hmac-sha256:" + hmac.new(key, message, sha256).hexdigest()[:32]


def build_record(
    decision: dict[str, Any],
    inputs: dict[str, Any],
    private_fields: frozenset[str],
    pii_key: bytes | None,
    endpoint: str,
    latency_ms: float,
    created_at: str | None = None,
) -> dict[str, Any]:
    """A decision record: the Decision, the inputs with protected and PII fields hashed
    (with ``pii_key``) or dropped (without), a timestamp (now, unless given: a batch shares
    one) and the latency."""
    if not private_fields.isdisjoint(inputs):
        safe = {}
        for name, value in inputs.items():
            if name not in private_fields:
                safe[name] = value
            elif pii_key is not None:
                safe[name] = keyed_hash(pii_key, name, value)
        inputs = safe
    application_id = decision["application_id"]
    if application_id is not None and "application_id" in private_fields:
        application_id = keyed_hash(pii_key, "application_id", application_id) if pii_key else None
    return {
        "request_id": decision["request_id"],
        "created_at": created_at or datetime.now(UTC).isoformat(),
        "application_id": application_id,
        "endpoint": endpoint,
        "model_name": decision["model_name"],
        "model_version": decision["model_version"],
        "policy_version": decision["policy_version"],
        "probability_of_default": decision["probability_of_default"],
        "score": decision["score"],
        "risk_band": decision["risk_band"],
        "decision": decision["decision"],
        # defence in depth: a protected field is never a reason, and never stored raw
        "reasons": [r for r in decision["reasons"] if r.get("feature") not in private_fields],
        "inputs": inputs,
        "latency_ms": round(latency_ms, 4),
    }
