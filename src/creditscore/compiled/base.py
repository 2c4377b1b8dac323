"""Shared pieces of the compiled scoring package: errors, checks, the thread pools."""

from __future__ import annotations

import os
import queue
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np

from creditscore.exceptions import ConfigError, NotCompilableError

#: Largest |compiled - pipeline| accepted by the self-check. Every step mirrors the
#: library's arithmetic, so real differences are 0 or a few ulps; anything larger means
#: the compiled form misreads the model.
TOLERANCE = 1e-9
#: Frames at least this long are split across threads in batch scoring.
PARALLEL_ROWS = 20_000


def _threads() -> int:
    """``CREDITSCORE_THREADS`` if set (a positive whole number), else the cores, at most 4."""
    raw = os.environ.get("CREDITSCORE_THREADS", "").strip()
    if not raw:
        return max(1, min(4, os.cpu_count() or 1))
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(
            f"CREDITSCORE_THREADS={raw!r}: expected a whole number of threads >= 1 "
            "(1 keeps all scoring on the calling thread)"
        )
    return value


#: Worker threads for batch scoring (1: none, and one application on one thread too).
THREADS = _threads()
#: One application's reason codes are split between the caller and one helper thread.
SPLIT_ONE_ROW = THREADS > 1
#: A category no model saw in training (used to learn what "unseen" maps to).
UNSEEN = "\x00creditscore-unseen\x00"

Values = Sequence[Any]  # one validated application, in schema order (float | str | None)


def expit(z: Any) -> np.ndarray:
    """The logistic function ``1 / (1 + e^-z)`` of an array, without overflow (scipy's
    ``expit`` to float rounding, within 5e-16 relative; numpy's own, so scoring does not
    import scipy)."""
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(z))
    out: np.ndarray = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return out


def expit_one(z: float) -> float:
    """:func:`expit` of one number, with the same bits as in an array."""
    e = float(np.exp(np.float64(-abs(z))))
    return 1.0 / (1.0 + e) if z >= 0 else e / (1.0 + e)


def kernels() -> Any:
    """The numba kernels module (:mod:`creditscore.compiled.kernels`)."""
    try:
        from creditscore.compiled import kernels
    except ImportError as exc:  # numba missing or broken
        raise NotCompilableError(f"tree models need numba: {exc}") from None
    return kernels


class KernelCall:
    """One kernel of :mod:`creditscore.compiled.kernels` with its fixed arrays:
    ``KernelCall("level_row", a, b)(x)`` is ``kernels.level_row(x, a, b)`` and
    ``KernelCall("level_trees", a, b)(X, out)`` is ``kernels.level_trees(X, a, b, out)``.

    Unlike a lambda it pickles (a bundle saves its compiled form): by the kernel's name
    and its arrays, the dispatcher looked up again when unpickled."""

    def __init__(self, name: str, *fixed: Any) -> None:
        self.name = name
        self.fixed = fixed
        self._fn = getattr(kernels(), name)

    def __call__(self, lead: Any, *tail: Any) -> Any:
        return self._fn(lead, *self.fixed, *tail)

    def __getstate__(self) -> dict[str, Any]:
        return {"name": self.name, "fixed": self.fixed}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["name"], *state["fixed"])  # type: ignore[misc]


class HoldsKernels:
    """A compiled estimator that keeps the kernels module as ``self.k``: pickled without
    it (a module does not pickle) and given it back when unpickled."""

    k: Any

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("k", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.k = kernels()


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


A = TypeVar("A")
B = TypeVar("B")


class _Half:
    """The second half of one row's work: run by whichever thread claims it first."""

    __slots__ = ("claim", "done", "error", "fn", "result")

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn = fn
        self.claim = threading.Lock()
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self.fn()
        except BaseException as exc:  # handed to the caller, which raises it
            self.error = exc
        finally:
            self.done.set()


_helper: queue.SimpleQueue[_Half] | None = None
_helper_pid = 0


def _helper_loop(tasks: queue.SimpleQueue[_Half]) -> None:
    while True:
        task = tasks.get()
        if task.claim.acquire(blocking=False):
            task.run()


def _helper_queue() -> queue.SimpleQueue[_Half]:
    """The queue of the one helper thread (started again in a forked child)."""
    global _helper, _helper_pid
    with _pool_lock:
        if _helper is None or _helper_pid != os.getpid():
            _helper = queue.SimpleQueue()
            threading.Thread(
                target=_helper_loop, args=(_helper,), name="creditscore-half", daemon=True
            ).start()
            _helper_pid = os.getpid()
        return _helper


def two_way(first: Callable[[], A], second: Callable[[], B] | None) -> tuple[A, B | None]:
    """``(first(), second())``, the second on the helper thread while the caller runs the
    first (both are numba kernels that release the GIL). If the helper has not started
    the second by the time the first is done (a busy machine), the caller runs it too, so
    a late helper never adds to the latency. Each half writes only its own result, so
    where it ran never changes a bit."""
    if second is None:
        return first(), None
    if not SPLIT_ONE_ROW:
        return first(), second()
    task = _Half(second)
    _helper_queue().put(task)
    a = first()
    if task.claim.acquire(blocking=False):
        task.run()
    else:
        task.done.wait()
    if task.error is not None:
        raise task.error
    return a, task.result


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
