"""``compiled.base.two_way``: one application's work in two halves on two threads."""

from __future__ import annotations

import threading

import pytest

from creditscore.compiled import base


@pytest.fixture(autouse=True)
def split_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "SPLIT_ONE_ROW", True)


def test_both_halves_run_and_return_in_order() -> None:
    assert base.two_way(lambda: 1, lambda: 2) == (1, 2)
    assert base.two_way(lambda: "a", None) == ("a", None)


def test_the_second_half_runs_on_the_helper_when_it_is_free() -> None:
    ran: list[str] = []

    def first() -> None:
        # the caller waits (bounded) for the helper to have taken the second half
        started.wait(timeout=5)

    def second() -> None:
        ran.append(threading.current_thread().name)
        started.set()

    started = threading.Event()
    base.two_way(first, second)
    assert ran == ["creditscore-half"]


def test_the_caller_takes_the_second_half_back_when_the_helper_is_busy() -> None:
    release = threading.Event()
    blocked = threading.Event()

    def hold_the_helper() -> None:
        blocked.set()
        release.wait(timeout=10)

    holder = threading.Thread(
        target=lambda: base.two_way(lambda: release.wait(10), hold_the_helper)
    )
    holder.start()
    assert blocked.wait(timeout=5)  # the helper is now stuck in another call's half
    ran: list[str] = []
    result = base.two_way(lambda: 1, lambda: ran.append(threading.current_thread().name) or 2)
    assert result == (1, 2)
    assert ran == [threading.current_thread().name]  # not the helper: it was busy
    release.set()
    holder.join(timeout=10)


def test_an_error_in_the_second_half_reaches_the_caller() -> None:
    def fails() -> None:
        raise ValueError("second half failed")

    with pytest.raises(ValueError, match="second half failed"):
        base.two_way(lambda: 1, fails)
    assert base.two_way(lambda: 1, lambda: 2) == (1, 2)  # the helper still works


def test_without_splitting_both_halves_run_in_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "SPLIT_ONE_ROW", False)
    names: list[str] = []
    base.two_way(lambda: 1, lambda: names.append(threading.current_thread().name))
    assert names == [threading.current_thread().name]


def test_creditscore_threads_sets_the_threads_and_refuses_nonsense(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from creditscore.exceptions import ConfigError

    monkeypatch.setenv("CREDITSCORE_THREADS", "3")
    assert base._threads() == 3
    monkeypatch.setenv("CREDITSCORE_THREADS", "")
    assert 1 <= base._threads() <= 4
    for bad in ("0", "-2", "two", "1.5"):
        monkeypatch.setenv("CREDITSCORE_THREADS", bad)
        with pytest.raises(ConfigError, match=f"CREDITSCORE_THREADS='{bad}'"):
            base._threads()
