"""Shared pieces of the compiled scoring package: errors, checks, the batch thread pool."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from creditscore.exceptions import NotCompilableError

#: Largest |compiled - pipeline| accepted by the self-check. Every step mirrors the
#: library's arithmetic, so real differences are 0 or a few ulps; anything larger means
#: the compiled form misreads the model.
TOLERANCE = 1e-9
#: Frames at least this long are split across threads in batch scoring.
PARALLEL_ROWS = 20_000
#: Worker threads for batch scoring.
THREADS = max(1, min(4, os.cpu_count() or 1))
#: A category no model saw in training (used to learn what "unseen" maps to).
UNSEEN = "\x00creditscore-unseen\x00"

Values = Sequence[Any]  # one validated application, in schema order (float | str | None)

_pool: ThreadPoolExecutor | None = None
_pool_pid = 0
_pool_lock = threading.Lock()


def executor() -> ThreadPoolExecutor:
    """The batch thread pool, created on first use (again in a forked child: threads do
    not survive ``fork``, and a pool without threads would never run its work)."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = ThreadPoolExecutor(THREADS, thread_name_prefix="creditscore-batch")
            _pool_pid = os.getpid()
        return _pool


def exact_type(obj: Any, module: str, name: str) -> bool:
    """``type(obj)`` is ``module.name``, without importing ``module`` (torch, lightgbm...)."""
    mod = sys.modules.get(module)
    cls = getattr(mod, name, None) if mod is not None else None
    return cls is not None and type(obj) is cls


def require(condition: bool, reason: str) -> None:
    if not condition:
        raise NotCompilableError(reason)


def binary_classes(est: Any) -> None:
    classes = getattr(est, "classes_", None)
    require(
        classes is not None and len(classes) == 2 and list(classes) == [0, 1],
        f"{type(est).__name__} does not predict the classes [0, 1]",
    )
