"""greenlane.futures: the green executor, GreenFuture, and wait()/as_completed() over mixed futures."""

from __future__ import annotations

import concurrent.futures as cf
import contextvars
import gc
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import greenlane
from greenlane.event import Event
from greenlane.futures import (
    ALL_COMPLETED,
    FIRST_COMPLETED,
    FIRST_EXCEPTION,
    CancelledError,
    DoneAndNotDoneFutures,
    GreenFuture,
    GreenThreadPoolExecutor,
    as_completed,
    wait,
)
from greenlane.testing import VirtualClock, virtual_time, wait_until, wait_until_parked

# Real-time waits in the few cross-thread tests: bounds on hangs, not timings.
REAL_TIMEOUT = 10


def nap(seconds: float, value: Any = None) -> Any:
    greenlane.sleep(seconds)
    return value


def fail_after(seconds: float, exc: BaseException) -> None:
    greenlane.sleep(seconds)
    raise exc


def no_callbacks_left(*futures: Any) -> bool:
    """True if nothing (a wait() waiter) is still registered on ``futures``."""
    for f in futures:
        if isinstance(f, greenlane.GreenThread):
            if f._links:
                return False
        elif f._done_callbacks:
            return False
    return True


# -- the executor ------------------------------------------------------------------


def test_submit_returns_a_green_future_that_is_a_stdlib_future() -> None:
    with GreenThreadPoolExecutor() as ex:
        f = ex.submit(pow, 2, 10)
        assert isinstance(f, GreenFuture) and isinstance(f, cf.Future)
        assert isinstance(ex, cf.Executor)
        assert f.result() == 1024
        assert f.done() and not f.cancelled() and f.exception() is None


def test_submit_never_blocks_and_at_most_max_workers_run() -> None:
    running = peak = 0
    started: list[int] = []

    def job(i: int) -> int:
        nonlocal running, peak
        started.append(i)
        running += 1
        peak = max(peak, running)
        greenlane.sleep(0)
        greenlane.sleep(0)
        running -= 1
        return i * i

    ex = GreenThreadPoolExecutor(max_workers=2)
    futures = [ex.submit(job, i) for i in range(50)]  # no yield in between: nothing ran yet
    assert started == []
    assert repr(ex) == "<GreenThreadPoolExecutor max_workers=2 workers=2 queued=50>"
    assert [f.result() for f in futures] == [i * i for i in range(50)]
    assert started == list(range(50))  # FIFO
    assert peak == 2
    ex.shutdown()
    assert repr(ex) == "<GreenThreadPoolExecutor max_workers=2 workers=0 queued=0 shut down>"


def test_result_blocks_only_the_calling_green_thread() -> None:
    ticks: list[int] = []

    def ticker() -> None:
        for i in range(5):
            ticks.append(i)
            greenlane.sleep(0)

    with GreenThreadPoolExecutor(1) as ex:
        gate: Event[str] = Event()
        f = ex.submit(gate.wait)
        t = greenlane.spawn(ticker)
        greenlane.spawn(lambda: (t.wait(), gate.send("opened")))
        assert f.result() == "opened"  # the hub kept running the others meanwhile
        assert ticks == [0, 1, 2, 3, 4]


def test_result_and_exception_time_out_on_the_hub_clock(virtual_clock: VirtualClock) -> None:
    with GreenThreadPoolExecutor(1) as ex:
        f = ex.submit(nap, 10, "late")
        with pytest.raises(cf.TimeoutError):
            f.result(timeout=3)
        assert virtual_clock.now() == 3
        with pytest.raises(cf.TimeoutError):
            f.exception(timeout=2)
        assert virtual_clock.now() == 5
        with pytest.raises(cf.TimeoutError):
            f.result(timeout=0)
        assert virtual_clock.now() == 5
        assert f.result(timeout=100) == "late"
        assert virtual_clock.now() == 10


def test_exception_is_set_on_the_future() -> None:
    with GreenThreadPoolExecutor() as ex:
        f = ex.submit(int, "not a number")
        with pytest.raises(ValueError, match="not a number"):
            f.result()
        assert isinstance(f.exception(), ValueError)


def test_cancel_a_queued_future_and_not_a_running_one() -> None:
    ran: list[str] = []
    with GreenThreadPoolExecutor(1) as ex:
        gate: Event[None] = Event()
        first = ex.submit(gate.wait)
        second = ex.submit(ran.append, "second")
        greenlane.sleep(0)
        assert first.running()
        assert not first.cancel()
        assert second.cancel() and second.cancelled() and second.done()
        with pytest.raises(CancelledError):
            second.result()
        with pytest.raises(CancelledError):
            second.exception()
        gate.send(None)
    assert ran == []


def test_done_callbacks_run_in_order_and_at_once_when_done() -> None:
    seen: list[tuple[str, Any]] = []
    with GreenThreadPoolExecutor() as ex:
        f = ex.submit(nap, 0, 5)
        f.add_done_callback(lambda fut: seen.append(("a", fut.result())))
        f.add_done_callback(lambda fut: seen.append(("b", fut is f)))
        f.result()
        f.add_done_callback(lambda fut: seen.append(("late", fut.result())))
    assert seen == [("a", 5), ("b", True), ("late", 5)]


def test_items_run_in_a_copy_of_the_submitters_context() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    with GreenThreadPoolExecutor(1) as ex:
        var.set("first")
        a = ex.submit(var.get)
        var.set("second")
        b = ex.submit(var.get)
        c = ex.submit(var.set, "inside")
        assert (a.result(), b.result()) == ("first", "second")
        c.result()
    assert var.get() == "second"


def test_a_worker_ending_on_greenlet_exit_is_replaced() -> None:
    def leave() -> None:
        raise greenlane.GreenletExit

    with GreenThreadPoolExecutor(1) as ex:
        gone = ex.submit(leave)
        after = [ex.submit(pow, 3, i) for i in range(3)]
        assert isinstance(gone.exception(), greenlane.GreenletExit)
        assert [f.result() for f in after] == [1, 3, 9]


def test_keyboard_interrupt_is_set_on_the_future_and_reaches_main() -> None:
    def interrupt() -> None:
        raise KeyboardInterrupt

    ex = GreenThreadPoolExecutor(1)
    f = ex.submit(interrupt)
    later = ex.submit(int, "7")
    with pytest.raises(KeyboardInterrupt):
        greenlane.sleep(1)
    assert isinstance(f.exception(), KeyboardInterrupt)
    assert later.result() == 7
    ex.shutdown()


@pytest.mark.parametrize("bad", [0, -3])
def test_max_workers_must_be_positive(bad: int) -> None:
    with pytest.raises(ValueError, match=str(bad)):
        GreenThreadPoolExecutor(bad)


@pytest.mark.parametrize("bad", ["2", 1.5, None, True])
def test_max_workers_must_be_an_int(bad: Any) -> None:
    with pytest.raises(TypeError, match="int"):
        GreenThreadPoolExecutor(bad)


def test_submit_rejects_non_callables() -> None:
    with GreenThreadPoolExecutor() as ex, pytest.raises(TypeError, match="callable"):
        ex.submit(42)  # type: ignore[arg-type]
    assert GreenThreadPoolExecutor(7).max_workers == 7


def test_callable_is_positional_only_so_user_kwargs_pass_through() -> None:
    def f(fn: str, /, **kw: int) -> tuple[str, dict[str, int]]:
        return fn, kw

    with GreenThreadPoolExecutor() as ex:
        assert ex.submit(f, "x", fn=1).result() == ("x", {"fn": 1})


# -- map -----------------------------------------------------------------------------


def test_map_yields_in_input_order(virtual_clock: VirtualClock) -> None:
    with GreenThreadPoolExecutor(5) as ex:
        assert list(ex.map(nap, [5, 4, 3, 2, 1], "abcde")) == list("abcde")
        assert virtual_clock.now() == 5
        assert list(ex.map(pow, [2, 3], [3, 2, 1], chunksize=4)) == [8, 9]


def test_map_timeout_raises_and_cancels_the_rest(virtual_clock: VirtualClock) -> None:
    ran: list[int] = []

    def job(i: int) -> int:
        greenlane.sleep(4)
        ran.append(i)
        return i

    with GreenThreadPoolExecutor(1) as ex:
        results = ex.map(job, range(6), timeout=10)
        assert next(results) == 0  # done at 4
        assert next(results) == 1  # done at 8
        with pytest.raises(cf.TimeoutError):
            next(results)  # done at 12
        assert virtual_clock.now() == 10
        assert list(results) == []  # a generator that raised is finished
    assert virtual_clock.now() == 12  # shutdown waited for item 2, already running
    assert ran == [0, 1, 2]  # 3, 4 and 5 were cancelled before they started


def test_map_exception_is_raised_at_its_position() -> None:
    with GreenThreadPoolExecutor(2) as ex:
        results = ex.map(int, ["1", "x", "3"])
        assert next(results) == 1
        with pytest.raises(ValueError):
            next(results)


def test_map_rejects_bad_chunksize() -> None:
    with GreenThreadPoolExecutor(2) as ex, pytest.raises(ValueError, match="0"):
        ex.map(int, [], chunksize=0)


# -- shutdown ------------------------------------------------------------------------


def test_shutdown_waits_for_all_work(virtual_clock: VirtualClock) -> None:
    ex = GreenThreadPoolExecutor(2)
    futures = [ex.submit(nap, 1, i) for i in range(5)]
    ex.shutdown(wait=True)
    assert virtual_clock.now() == 3
    assert all(f.done() for f in futures)
    ex.shutdown()  # again: nothing to do


def test_shutdown_without_wait_returns_at_once_and_work_still_completes(
    virtual_clock: VirtualClock,
) -> None:
    ex = GreenThreadPoolExecutor(1)
    futures = [ex.submit(nap, 1, i) for i in range(3)]
    ex.shutdown(wait=False)
    assert virtual_clock.now() == 0
    assert [f.result() for f in futures] == [0, 1, 2]


def test_shutdown_cancel_futures_cancels_what_has_not_started() -> None:
    gate: Event[None] = Event()
    ex = GreenThreadPoolExecutor(2)
    futures = [ex.submit(gate.wait) for _ in range(6)]
    greenlane.sleep(0)
    greenlane.spawn(lambda: (greenlane.sleep(0), gate.send(None)))
    ex.shutdown(wait=True, cancel_futures=True)
    assert [f.cancelled() for f in futures] == [False, False, True, True, True, True]
    assert wait(futures).not_done == set()  # cancelled counts as done: no hang


def test_submit_after_shutdown_raises() -> None:
    ex = GreenThreadPoolExecutor(1)
    ex.shutdown()
    with pytest.raises(RuntimeError, match="after shutdown"):
        ex.submit(int)
    with GreenThreadPoolExecutor(1) as ex2:
        pass
    with pytest.raises(RuntimeError, match="after shutdown"):
        ex2.submit(int)


def test_shutdown_wait_from_a_worker_raises_but_without_wait_works() -> None:
    with GreenThreadPoolExecutor(1) as ex:
        waiting = ex.submit(ex.shutdown, wait=True)
        with pytest.raises(RuntimeError, match="wait for itself"):
            waiting.result()
    with GreenThreadPoolExecutor(1) as ex:
        assert ex.submit(ex.shutdown, wait=False).result() is None


def test_context_manager_shuts_down_with_wait(virtual_clock: VirtualClock) -> None:
    with GreenThreadPoolExecutor(3) as ex:
        futures = [ex.submit(nap, 2) for _ in range(3)]
    assert virtual_clock.now() == 2
    assert all(f.done() for f in futures)


# -- exceptions nobody retrieved -------------------------------------------------------


def test_unretrieved_exception_is_logged_when_collected(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="greenlane"), GreenThreadPoolExecutor() as ex:
        f = ex.submit(int, "never looked at")
        wait([f])
        del f
        gc.collect()
    assert "nobody retrieved" in caplog.text
    assert "never looked at" in caplog.text


def test_retrieved_exception_is_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="greenlane"), GreenThreadPoolExecutor() as ex:
        f = ex.submit(int, "seen")
        assert f.exception() is not None
        del f
        gc.collect()
    assert "nobody retrieved" not in caplog.text


# -- other OS threads ----------------------------------------------------------------


def test_a_native_thread_waits_on_the_stdlib_condition() -> None:
    got: list[Any] = []
    with GreenThreadPoolExecutor() as ex:
        go = greenlane.Event()
        f = ex.submit(lambda: go.wait() or "for the native thread")
        thread = threading.Thread(target=lambda: got.append(f.result(timeout=REAL_TIMEOUT)))
        thread.start()
        # Hand-shake: the native thread is inside the stdlib condition's wait before
        # the result exists, so it is that wait that must see it.
        wait_until(lambda: f._condition._waiters)
        assert not f.done()
        go.send()
        wait_until(lambda: got)
        thread.join()
    assert got == ["for the native thread"]


def test_submit_from_another_os_thread_is_a_cross_thread_error() -> None:
    errors: list[BaseException] = []
    with GreenThreadPoolExecutor() as ex:
        ex.submit(int).result()

        def other() -> None:
            try:
                ex.submit(int)
            except greenlane.CrossThreadError as exc:
                errors.append(exc)

        thread = threading.Thread(target=other)
        thread.start()
        thread.join(REAL_TIMEOUT)
    assert errors and "another OS thread" in str(errors[0])


def test_a_future_set_from_a_native_thread_wakes_its_green_waiter() -> None:
    fut: GreenFuture[str] = GreenFuture()
    waiter = greenlane.spawn(fut.result, REAL_TIMEOUT)
    wait_until_parked(waiter)  # parked: the future now has a home hub
    thread = threading.Thread(target=fut.set_result, args=("from afar",))
    thread.start()
    assert waiter.wait() == "from afar"
    thread.join()


# -- wait ---------------------------------------------------------------------------------


def _mixed(ex: GreenThreadPoolExecutor) -> list[Any]:
    """A GreenFuture done at 3, a GreenThread at 1, a GreenFuture at 2, a GreenThread at 4."""
    return [
        ex.submit(nap, 3, "f3"),
        greenlane.spawn(nap, 1, "t1"),
        ex.submit(nap, 2, "f2"),
        greenlane.spawn(nap, 4, "t4"),
    ]


def test_wait_all_completed_with_mixed_futures(virtual_clock: VirtualClock) -> None:
    with GreenThreadPoolExecutor() as ex:
        fs = _mixed(ex)
        result = wait(fs)
        assert isinstance(result, DoneAndNotDoneFutures)
        assert result.done == set(fs) and result.not_done == set()
        assert virtual_clock.now() == 4
        assert no_callbacks_left(*fs)
        assert wait(fs, return_when=ALL_COMPLETED) == (set(fs), set())


def test_wait_first_completed(virtual_clock: VirtualClock) -> None:
    with GreenThreadPoolExecutor() as ex:
        f3, t1, f2, t4 = fs = _mixed(ex)
        done, not_done = wait(fs, return_when=FIRST_COMPLETED)
        assert (done, not_done) == ({t1}, {f3, f2, t4})
        assert virtual_clock.now() == 1
        assert no_callbacks_left(*fs)
        done, not_done = wait([f3, f2, t4], return_when=FIRST_COMPLETED)
        assert done == {f2} and virtual_clock.now() == 2
        wait(fs)


def test_wait_first_exception(virtual_clock: VirtualClock) -> None:
    with GreenThreadPoolExecutor() as ex:
        ok = ex.submit(nap, 1, "ok")
        bad_thread = greenlane.spawn(fail_after, 2, KeyError("thread"))
        slow = ex.submit(nap, 5)
        done, not_done = wait([ok, bad_thread, slow], return_when=FIRST_EXCEPTION)
        assert (done, not_done) == ({ok, bad_thread}, {slow})
        assert virtual_clock.now() == 2
        bad_future = ex.submit(fail_after, 1, ValueError("future"))
        done, _ = wait([slow, bad_future], return_when=FIRST_EXCEPTION)
        assert done == {bad_future} and virtual_clock.now() == 3
        # No exception at all: the same as ALL_COMPLETED.
        done, not_done = wait([ok, slow], return_when=FIRST_EXCEPTION)
        assert not_done == set() and virtual_clock.now() == 5
        # Already raised: returns at once.
        assert wait([bad_thread, ex.submit(nap, 1)], return_when=FIRST_EXCEPTION).done == {bad_thread}
        with pytest.raises(KeyError):
            bad_thread.wait()
        with pytest.raises(ValueError):
            bad_future.result()


def test_wait_first_exception_counts_a_killed_thread() -> None:
    gt: greenlane.GreenThread[None] = greenlane.spawn(Event[None]().wait)
    other: greenlane.GreenThread[None] = greenlane.spawn(Event[None]().wait)
    greenlane.sleep(0)
    greenlane.spawn(gt.kill)
    done, not_done = wait([gt, other], return_when=FIRST_EXCEPTION)
    assert (done, not_done) == ({gt}, {other})
    other.kill()


def test_wait_timeout_returns_what_is_done(virtual_clock: VirtualClock) -> None:
    with GreenThreadPoolExecutor() as ex:
        fs = _mixed(ex)
        done, not_done = wait(fs, timeout=2.5)
        assert virtual_clock.now() == 2.5
        assert {f.result() if isinstance(f, cf.Future) else f.wait() for f in done} == {"t1", "f2"}
        assert len(not_done) == 2
        assert no_callbacks_left(*fs)
        assert wait(fs, timeout=0) == ({fs[1], fs[2]}, {fs[0], fs[3]})
        assert virtual_clock.now() == 2.5
        wait(fs)


def test_wait_edge_cases() -> None:
    assert wait([]) == (set(), set())
    assert wait([], return_when=FIRST_COMPLETED) == (set(), set())
    gt = greenlane.spawn(int, 4)
    assert wait([gt, gt, gt]) == ({gt}, set())  # duplicates once
    with pytest.raises(ValueError, match="'SOMETIMES'"):
        wait([gt], return_when="SOMETIMES")
    with pytest.raises(TypeError, match="timeout"):
        wait([gt], timeout="1")  # type: ignore[call-overload]


def test_wait_on_a_stdlib_thread_pool_future_mixed_with_green_ones() -> None:
    with cf.ThreadPoolExecutor(1) as real, GreenThreadPoolExecutor() as ex:
        native = real.submit(time.sleep, 0.02)  # its callback comes from another OS thread
        green = ex.submit(nap, 0, "green")
        done, not_done = wait([native, green], timeout=REAL_TIMEOUT)
        assert done == {native, green} and not not_done
        assert no_callbacks_left(native, green)


def test_virtual_time_does_not_jump_past_a_future_of_another_thread(virtual_clock: VirtualClock) -> None:
    with cf.ThreadPoolExecutor(1) as real:
        native = real.submit(time.sleep, 0.02)
        done, _ = wait([native], timeout=1000)  # the hub is told outside work is pending
        assert done == {native}
        assert virtual_clock.now() < 1000


# -- as_completed ------------------------------------------------------------------------


def test_as_completed_yields_in_completion_order(virtual_clock: VirtualClock) -> None:
    with GreenThreadPoolExecutor() as ex:
        f3, t1, f2, t4 = fs = _mixed(ex)
        order = []
        for f in as_completed(fs):
            order.append(f)
            assert f.done()
        assert order == [t1, f2, f3, t4]
        assert virtual_clock.now() == 4
        assert no_callbacks_left(*fs)


def test_as_completed_yields_the_done_ones_first_in_input_order() -> None:
    with GreenThreadPoolExecutor() as ex:
        a, b = ex.submit(int, 1), greenlane.spawn(int, 2)
        wait([a, b])
        c = ex.submit(nap, 0.0)
        assert list(as_completed([c, b, a, b])) == [b, a, c]


def test_as_completed_timeout(virtual_clock: VirtualClock) -> None:
    with GreenThreadPoolExecutor() as ex:
        fs = _mixed(ex)
        got = []
        with pytest.raises(cf.TimeoutError, match=r"2 \(of 4\) futures unfinished"):
            for f in as_completed(fs, timeout=2.5):
                got.append(f)
        assert got == [fs[1], fs[2]]
        assert virtual_clock.now() == 2.5
        assert no_callbacks_left(*fs)
        with pytest.raises(cf.TimeoutError):
            list(as_completed(fs, timeout=0))  # f3 and t4 are not done yet
        assert list(as_completed(fs[1:3], timeout=0)) == [fs[1], fs[2]]
        wait(fs)


def test_as_completed_closed_early_leaves_no_callbacks() -> None:
    with GreenThreadPoolExecutor() as ex:
        fs = [ex.submit(nap, 0.001 * i, i) for i in range(3)]
        it = as_completed(fs)
        assert next(it) in fs
        it.close()  # type: ignore[attr-defined]
        assert no_callbacks_left(*fs)


def test_as_completed_checks_its_timeout_type() -> None:
    with pytest.raises(TypeError, match="timeout"):
        as_completed([], timeout=[1])  # type: ignore[call-overload]


def test_as_completed_with_a_stdlib_thread_pool_future() -> None:
    with cf.ThreadPoolExecutor(1) as real:
        native = real.submit(time.sleep, 0.02)
        green = greenlane.spawn(nap, 0, "green")
        # No timeout, so no timer: the hub waits for the other thread's callback.
        assert list(as_completed([native, green])) == [green, native]


def test_futures_and_threads_can_be_waited_for_by_many(virtual_clock: VirtualClock) -> None:
    with GreenThreadPoolExecutor() as ex:
        f = ex.submit(nap, 3, "shared")
        waiters: list[Callable[[], Any]] = [
            f.result,
            lambda: next(as_completed([f])).result(),
            lambda: wait([f]).done.pop().result(),
        ]
        threads = [greenlane.spawn(w) for w in waiters]
        assert [t.wait() for t in threads] == ["shared"] * 3
        assert virtual_clock.now() == 3


# -- properties ----------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    naps=st.lists(st.integers(0, 50), unique=True, max_size=12),
    kinds=st.lists(st.booleans(), min_size=12, max_size=12),
    workers=st.integers(1, 4),
)
def test_as_completed_and_wait_follow_the_finish_times(
    naps: list[int], kinds: list[bool], workers: int
) -> None:
    with virtual_time() as clock, GreenThreadPoolExecutor(workers) as ex:
        # Half the naps run as GreenThreads (start at once), half in the executor
        # (queued behind each other): the finish time of each is simulated here.
        fs: list[Any] = []
        finish: dict[Any, float] = {}
        free_at = [0.0] * workers
        for d, as_thread in zip(naps, kinds, strict=False):
            if as_thread:
                fs.append(greenlane.spawn(nap, d))
                finish[fs[-1]] = d
            else:
                start = min(free_at)
                free_at[free_at.index(start)] = start + d
                fs.append(ex.submit(nap, d))
                finish[fs[-1]] = start + d
        first = wait(fs, return_when=FIRST_COMPLETED)
        if fs:
            assert clock.now() == min(finish.values())
            # Others due at the same time may still be a switch away (a nap of 0).
            assert first.done and all(finish[f] == clock.now() for f in first.done)
        ordered = list(as_completed(fs))
        assert [finish[f] for f in ordered] == sorted(finish[f] for f in fs)
        assert clock.now() == max(finish.values(), default=0)
        assert wait(fs, timeout=0) == (set(fs), set())


def test_first_submit_from_a_native_thread_is_refused_not_stranded() -> None:
    import threading

    from greenlane.futures import GreenThreadPoolExecutor

    executor = GreenThreadPoolExecutor(2)
    errors: list[BaseException] = []

    def native() -> None:
        try:
            executor.submit(int)
        except greenlane.CrossThreadError as exc:
            errors.append(exc)

    thread = threading.Thread(target=native)
    thread.start()
    thread.join(10)
    assert errors and "native thread" in str(errors[0])
    assert executor.submit(lambda: 7).result() == 7
    executor.shutdown()
