"""Helpers of the API tests: settings, keys, waiting, fault injection."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from creditscore.settings import Settings

KEY = "client-key-for-tests"
ADMIN = "admin-key-for-tests"
AUTH = {"X-API-Key": KEY}
ADMIN_AUTH = {"X-API-Key": ADMIN}
PG_HOST, PG_PORT, PG_DB = "127.0.0.1", 5432, "test"


def make_settings(home: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "home": home,
        "api_keys": KEY,
        "admin_keys": ADMIN,
        "reload_interval": 0,
        "log_flush_interval": 0.05,
        "log_retry_interval": 0.2,
        "pii_key": "pii-key-for-tests",
        **overrides,
    }
    return Settings(**values)


def application(row: dict[str, Any], features: list[str], **extra: Any) -> dict[str, Any]:
    return {**{k: row[k] for k in features}, **extra}


def wait_for(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


# --------------------------------------------------------------------------- faults
@contextlib.contextmanager
def unwritable(path: Path) -> Iterator[None]:
    """Make a file unwritable, even for root (chmod first; chattr +i where chmod is not
    enough); skip the test where neither works."""
    mode = path.stat().st_mode
    path.chmod(0o444)
    immutable = False
    try:
        try:
            with path.open("ab"):
                writable = True
        except PermissionError:
            writable = False
        if writable:  # root ignores modes
            done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
            if done.returncode != 0:
                pytest.skip(f"cannot make {path} unwritable here: {done.stderr.decode().strip()}")
            immutable = True
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        path.chmod(mode)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TcpProxy:
    """A loopback TCP forwarder that can be cut (connection refused) and restored."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        self._acceptor = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._acceptor.start()

    def stop(self) -> None:
        """Refuse new connections and break the open ones."""
        if self._listener is not None:
            with contextlib.suppress(OSError):  # wakes the thread blocked in accept()
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
            if self._acceptor is not None:
                self._acceptor.join(5)
        with self._lock:
            conns, self._conns = self._conns, []
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
            c.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection((PG_HOST, self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)


def pg_connect() -> Any:
    import psycopg

    errors = []
    for user in ("postgres", "root"):
        try:
            return psycopg.connect(
                host=PG_HOST,
                port=PG_PORT,
                dbname=PG_DB,
                user=user,
                connect_timeout=3,
                autocommit=True,
            ), user
        except Exception as exc:
            errors.append(f"{user}: {exc}")
    pytest.skip(f"PostgreSQL not reachable on {PG_HOST}:{PG_PORT}/{PG_DB} ({'; '.join(errors)})")


def pg_url(user: str, schema: str, port: int = PG_PORT) -> str:
    return f"postgresql+psycopg://{user}@{PG_HOST}:{port}/{PG_DB}?options=-csearch_path%3D{schema}"


@contextlib.contextmanager
def running(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port (in a thread); yields its URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    try:
        if not wait_for(lambda: server.started, timeout=60):
            raise RuntimeError("uvicorn did not start within 60 s")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
