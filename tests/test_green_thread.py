"""greenlane.green.thread (green _thread) and green.time, used directly (nothing patched)."""

from __future__ import annotations

import _thread
import sys
import threading
from typing import Any

import pytest

import greenlane
from greenlane.green import thread as gthread
from greenlane.green import time as gtime
from greenlane.testing import VirtualClock


def test_start_new_thread_runs_green_with_its_own_ident() -> None:
    seen: list[tuple[int, int]] = []
    ident = gthread.start_new_thread(lambda a, b=0: seen.append((gthread.get_ident(), a + b)), (1,), {"b": 2})
    assert gthread._count() == 1 and not seen
    greenlane.sleep(0)
    assert seen == [(ident, 3)]
    assert gthread._count() == 0
    assert gthread.get_ident() == threading.get_ident()  # the root greenlet keeps the OS ident
    assert ident != threading.get_ident()


def test_start_new_thread_checks_its_arguments() -> None:
    with pytest.raises(TypeError, match="callable"):
        gthread.start_new_thread(42, ())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="tuple"):
        gthread.start_new_thread(print, [])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="dictionary"):
        gthread.start_new_thread(print, (), [])  # type: ignore[arg-type]


def test_a_thread_exception_is_reported_and_system_exit_is_silent(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom() -> None:
        raise ValueError("kaput")

    hooked: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", hooked.append)
    gthread.start_new_thread(boom, ())
    greenlane.sleep(0)
    assert len(hooked) == 1
    seen: Any = hooked[0]
    assert isinstance(seen.exc_value, ValueError) and seen.object is boom
    assert seen.err_msg == "Exception ignored in thread started by"
    monkeypatch.setattr(sys, "unraisablehook", sys.__unraisablehook__)  # its own report: printed
    gthread.start_new_thread(boom, ())
    gthread.start_new_thread(_thread.exit, ())
    greenlane.sleep(0)
    err = capsys.readouterr().err
    assert "Exception ignored in thread started by" in err and "ValueError: kaput" in err
    assert err.count("Traceback") == 1


def test_sentinel_is_released_when_the_thread_ends(virtual_clock: VirtualClock) -> None:
    sentinels: list[gthread.LockType] = []

    def body() -> None:
        lock = gthread._set_sentinel()
        lock.acquire()
        sentinels.append(lock)
        greenlane.sleep(0.01)

    gthread.start_new_thread(body, ())
    greenlane.sleep(0)
    assert sentinels[0].locked()
    assert sentinels[0].acquire(timeout=5)  # parks until the thread ends
    assert virtual_clock.now() == pytest.approx(0.01)
    assert not sentinels[0].acquire(False)


def test_thread_handle_join_and_done(virtual_clock: VirtualClock) -> None:
    handle = gthread.start_joinable_thread(lambda: greenlane.sleep(0.01), daemon=False)
    assert not handle.is_done() and handle.ident is not None
    assert "running" in repr(handle)
    handle.join(0.001)
    assert not handle.is_done()
    handle.join()
    assert virtual_clock.now() == pytest.approx(0.01)
    assert handle.is_done() and "done" in repr(handle)
    handle.join()  # again: returns at once
    with pytest.raises(TypeError):
        gthread.start_joinable_thread(print, handle=object())


def test_a_thread_handle_starts_one_thread() -> None:
    ran: list[int] = []
    handle = gthread.start_joinable_thread(lambda: ran.append(1))
    with pytest.raises(RuntimeError, match="thread already started"):
        gthread.start_joinable_thread(lambda: ran.append(2), handle=handle)
    handle.join()
    greenlane.sleep(0)  # a second thread, had it been started, would run now
    assert ran == [1]


def test_locks_are_green_and_fifo() -> None:
    lock = gthread.allocate_lock()
    order: list[int] = []
    lock.acquire()

    def take(i: int) -> None:
        with lock:
            order.append(i)

    threads = [greenlane.spawn(take, i) for i in range(3)]
    greenlane.sleep(0)
    lock.release()
    for t in threads:
        t.wait()
    assert order == [0, 1, 2]
    assert isinstance(lock, gthread.LockType)
    assert lock.acquire_lock() and lock.locked_lock()
    lock.release_lock()
    rlock = gthread.RLock()
    with rlock, rlock:
        assert rlock._is_owned()
    assert not rlock._is_owned()


def test_locks_fall_back_when_greenlet_is_finalizing(monkeypatch: pytest.MonkeyPatch) -> None:
    import greenlane.green.thread as mod

    def finalizing() -> None:
        raise RuntimeError("greenlet is being finalized")

    monkeypatch.setattr(mod, "_getcurrent", finalizing)
    assert mod.get_ident() == threading.get_ident()
    rlock = gthread.RLock()
    monkeypatch.setattr("greenlane.lock.current", finalizing)
    with pytest.raises(RuntimeError):  # not finalizing: the error stands
        rlock.acquire()
    monkeypatch.setattr(mod, "_finalizing", lambda: True)
    assert rlock.acquire() and rlock.acquire() and rlock._is_owned()
    rlock.release()
    rlock.release()
    assert not rlock.locked()


def test_green_time_sleep_parks_on_the_virtual_clock(virtual_clock: VirtualClock) -> None:
    woke: list[float] = []
    greenlane.spawn(lambda: (gtime.sleep(5), woke.append(virtual_clock.now())))
    gtime.sleep(10)
    assert woke == [5.0] and virtual_clock.now() == 10.0
    with pytest.raises(ValueError):
        gtime.sleep(-1)
    assert gtime.monotonic is __import__("time").monotonic  # the rest is the stdlib's


def test_green_time_sleep_in_a_native_thread_sleeps_natively() -> None:
    done: list[bool] = []
    t = threading.Thread(target=lambda: (gtime.sleep(0.01), done.append(True)))
    t.start()
    t.join(10)
    assert done == [True]


def test_implements_lists_only_names_the_stdlib_has() -> None:
    assert set(gthread.__implements__) <= set(dir(_thread))
    assert {"start_new_thread", "allocate_lock", "get_ident", "_local"} <= set(gthread.__implements__)
    assert gthread.error is _thread.error  # falls through
