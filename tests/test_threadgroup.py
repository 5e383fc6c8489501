"""oslo.service's ThreadGroup on the virtual clock: threads, timers, stop/wait/cancel."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from greenlet import GreenletExit

import greenlane
from greenlane.loopingcall import DynamicLoopingCall, FixedIntervalLoopingCall, LoopingCallDone
from greenlane.testing import VirtualClock
from greenlane.threadgroup import Thread, ThreadGroup


def napper(clock: VirtualClock, log: list[tuple[str, float]], name: str, seconds: float) -> str:
    log.append((f"{name} start", clock.now()))
    greenlane.sleep(seconds)
    log.append((f"{name} end", clock.now()))
    return name


# -- threads ------------------------------------------------------------------------


def test_add_thread_runs_and_leaves_threads_when_done(virtual_clock: VirtualClock) -> None:
    tg = ThreadGroup()
    log: list[tuple[str, float]] = []
    thread = tg.add_thread(napper, virtual_clock, log, "a", 5)
    assert isinstance(thread, Thread)
    assert tg.threads == [thread]
    assert log == []  # add_thread returns before the thread runs
    assert thread.ident == id(thread.thread)
    assert thread.wait() == "a"
    assert tg.threads == []
    assert log == [("a start", 0), ("a end", 5)]


def test_thread_ident_matches_getcurrent_inside(virtual_clock: VirtualClock) -> None:
    tg = ThreadGroup()
    thread = tg.add_thread(lambda: id(greenlane.getcurrent()))
    assert thread.wait() == thread.ident


def test_pool_size_bounds_running_threads(virtual_clock: VirtualClock) -> None:
    tg = ThreadGroup(thread_pool_size=2)
    log: list[tuple[str, float]] = []
    for name in "abc":
        tg.add_thread(napper, virtual_clock, log, name, 10)
    assert virtual_clock.now() == 10  # the third add_thread waited for a free slot
    tg.wait()
    assert log == [
        ("a start", 0), ("b start", 0), ("a end", 10), ("b end", 10), ("c start", 10), ("c end", 20),
    ]
    assert "pool=0/2" in repr(tg)


def test_stop_kills_threads_at_once(virtual_clock: VirtualClock) -> None:
    tg = ThreadGroup()
    log: list[tuple[str, float]] = []
    threads = [tg.add_thread(napper, virtual_clock, log, name, 100) for name in "ab"]
    greenlane.sleep(1)
    tg.stop()
    assert virtual_clock.now() == 1
    assert tg.threads == []
    assert log == [("a start", 0), ("b start", 0)]
    for thread in threads:
        with pytest.raises(GreenletExit):
            thread.wait()


def test_stop_graceful_waits_for_threads_and_timers(virtual_clock: VirtualClock) -> None:
    tg = ThreadGroup()
    log: list[tuple[str, float]] = []
    tg.add_thread(napper, virtual_clock, log, "a", 100)
    ticks: list[float] = []

    def slow_tick() -> None:
        ticks.append(virtual_clock.now())
        greenlane.sleep(7)

    tg.add_timer_args(10, slow_tick)
    greenlane.sleep(25)  # the timer is in its run started at 20
    tg.stop(graceful=True)
    assert virtual_clock.now() == 100
    assert log == [("a start", 0), ("a end", 100)]
    assert ticks == [0, 10, 20]  # stopped: no run after the one in progress
    assert tg.threads == [] and tg.timers == []


def test_stop_from_inside_a_thread_spares_the_caller(virtual_clock: VirtualClock) -> None:
    tg = ThreadGroup()
    log: list[tuple[str, float]] = []
    other = tg.add_thread(napper, virtual_clock, log, "other", 100)

    def stopper() -> str:
        greenlane.sleep(2)
        tg.stop()
        greenlane.sleep(3)  # still alive after stopping the group
        return f"stopped at 2, ended at {virtual_clock.now()}"

    me = tg.add_thread(stopper)
    assert me.wait() == "stopped at 2, ended at 5.0"
    with pytest.raises(GreenletExit):
        other.wait()
    assert tg.threads == []


def test_graceful_stop_from_inside_a_thread_does_not_wait_for_itself(
    virtual_clock: VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    tg = ThreadGroup()
    log: list[tuple[str, float]] = []
    tg.add_thread(napper, virtual_clock, log, "other", 4)

    def stopper() -> float:
        tg.stop(graceful=True)
        return virtual_clock.now()

    assert tg.add_thread(stopper).wait() == 4
    assert log[-1] == ("other end", 4)
    assert caplog.records == []  # no "Error waiting on thread." for the caller itself


def test_graceful_stop_from_a_timer_callback_does_not_hang(virtual_clock: VirtualClock) -> None:
    # oslo waited for the calling timer's own loop here and never returned.
    tg = ThreadGroup()
    log: list[tuple[str, float]] = []
    tg.add_thread(napper, virtual_clock, log, "worker", 6)
    ticks: list[float] = []

    def tick() -> None:
        ticks.append(virtual_clock.now())
        if len(ticks) == 2:
            tg.stop(graceful=True)

    timer = tg.add_timer_args(5, tick)
    assert timer.wait() is True
    assert ticks == [0, 5]
    assert virtual_clock.now() == 6  # the graceful stop waited for the worker, not for itself
    assert tg.timers == []


def test_wait_logs_thread_errors_and_returns(
    virtual_clock: VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    tg = ThreadGroup()

    def boom() -> None:
        greenlane.sleep(1)
        raise ValueError("bad disk")

    tg.add_thread(boom)
    bad = tg.add_thread(boom)
    tg.add_thread(lambda: None)
    tg.wait()  # does not raise
    errors = [r for r in caplog.records if r.name == "greenlane.threadgroup"]
    assert [r.getMessage() for r in errors] == ["Error waiting on thread."] * 2
    assert all(r.exc_info is not None and isinstance(r.exc_info[1], ValueError) for r in errors)
    assert tg.threads == []
    with pytest.raises(ValueError):
        bad.wait()


def test_thread_link_and_stop(virtual_clock: VirtualClock) -> None:
    tg = ThreadGroup()
    ended: list[Any] = []
    thread = tg.add_thread(greenlane.sleep, 50)
    thread.link(lambda gt, tag: ended.append((gt is thread.thread, tag)), "tag")
    greenlane.sleep(1)
    thread.stop()
    assert ended == [(True, "tag")]
    assert tg.threads == []
    assert virtual_clock.now() == 1


# -- timers ---------------------------------------------------------------------------


def test_add_timer_runs_at_its_interval_until_stop_timers(virtual_clock: VirtualClock) -> None:
    tg = ThreadGroup()
    ticks: list[float] = []
    timer = tg.add_timer(10, lambda: ticks.append(virtual_clock.now()), 5)
    assert isinstance(timer, FixedIntervalLoopingCall)
    assert tg.timers == [timer]
    greenlane.sleep(30)
    tg.stop_timers()
    assert tg.timers == []
    assert timer.wait() is True
    assert ticks == [5, 15, 25]
    assert virtual_clock.now() == 30


def test_add_timer_with_callback_args_is_deprecated_but_works(virtual_clock: VirtualClock) -> None:
    tg = ThreadGroup()
    seen: list[Any] = []

    def tick(*args: Any, **kwargs: Any) -> None:
        seen.append((args, kwargs))
        raise LoopingCallDone()

    with pytest.warns(DeprecationWarning, match=r"add_timer_args\(\) instead"):
        timer = tg.add_timer(1, tick, None, "x", key="y")
    timer.wait()
    assert seen == [(("x",), {"key": "y"})]
    tg.stop_timers()


def test_add_timer_args_passes_args_and_stop_on_exception(virtual_clock: VirtualClock) -> None:
    tg = ThreadGroup()
    runs: list[Any] = []

    def tick(a: int, b: int = 0) -> None:
        runs.append((virtual_clock.now(), a, b))
        if len(runs) == 1:
            raise OSError("first run fails")
        raise LoopingCallDone("done")

    timer = tg.add_timer_args(4, tick, [1], {"b": 2}, initial_delay=1, stop_on_exception=False)
    assert timer.wait() == "done"
    assert runs == [(1, 1, 2), (5, 1, 2)]
    tg.stop_timers()


def test_add_timer_with_a_string_interval(virtual_clock: VirtualClock) -> None:
    # oslo's own tests pass '1234': accepted here, the loop fails with the value named.
    tg = ThreadGroup()
    runs: list[float] = []
    timer = tg.add_timer("1234", lambda: runs.append(virtual_clock.now()))  # type: ignore[arg-type]
    assert len(tg.timers) == 1
    with pytest.raises(TypeError, match="interval must be a number of seconds, not '1234'"):
        timer.wait()
    assert runs == [0]
    tg.stop_timers()
    assert tg.timers == []


def test_add_dynamic_timer_keeps_args_and_kw(virtual_clock: VirtualClock) -> None:
    tg = ThreadGroup()
    delays: list[float] = []

    def foo(*args: Any, **kwargs: Any) -> float:
        delays.append(virtual_clock.now())
        return 3

    with pytest.warns(DeprecationWarning, match=r"add_dynamic_timer_args\(\) instead"):
        timer = tg.add_dynamic_timer(foo, 1, 2, "arg", kwarg="kwarg")
    assert isinstance(timer, DynamicLoopingCall)
    assert tg.timers == [timer]
    assert timer._running
    assert timer.args == ("arg",)
    assert timer.kw == {"kwarg": "kwarg"}
    greenlane.sleep(6)
    tg.stop()
    assert delays == [1, 3, 5]  # initial delay 1, then every min(3, max 2) seconds
    timer.wait()


def test_add_dynamic_timer_args(virtual_clock: VirtualClock) -> None:
    tg = ThreadGroup()
    calls: list[Any] = []

    def foo(n: int, *, step: float) -> float:
        calls.append((virtual_clock.now(), n))
        if len(calls) == 3:
            raise LoopingCallDone("enough")
        return step

    timer = tg.add_dynamic_timer_args(foo, (7,), {"step": 2.5}, periodic_interval_max=60)
    assert timer.wait() == "enough"
    assert calls == [(0, 7), (2.5, 7), (5.0, 7)]
    tg.stop_timers()


def test_timer_done_removes_without_stopping(virtual_clock: VirtualClock) -> None:
    tg = ThreadGroup()
    ticks: list[float] = []
    timer = tg.add_timer_args(2, lambda: ticks.append(virtual_clock.now()))
    tg.timer_done(timer)
    assert tg.timers == []
    greenlane.sleep(5)
    tg.stop()  # no longer the group's: left running
    assert timer._running
    timer.stop()
    timer.wait()
    assert ticks == [0, 2, 4]


def test_stop_timers_wait_lets_the_run_in_progress_finish(virtual_clock: VirtualClock) -> None:
    tg = ThreadGroup()
    finished: list[float] = []

    def slow() -> None:
        greenlane.sleep(5)
        finished.append(virtual_clock.now())

    tg.add_timer_args(60, slow)
    greenlane.sleep(1)
    tg.stop_timers(wait=True)
    assert virtual_clock.now() == 5
    assert finished == [5]


def test_wait_logs_timer_errors(virtual_clock: VirtualClock, caplog: pytest.LogCaptureFixture) -> None:
    tg = ThreadGroup()

    def bad() -> None:
        raise RuntimeError("tick failed")

    tg.add_timer_args(1, bad)
    tg.wait()
    assert "Error waiting on timer." in [r.getMessage() for r in caplog.records]
    tg.stop_timers()


# -- cancel ---------------------------------------------------------------------------


def test_cancel_keeps_unstarted_threads_from_running(virtual_clock: VirtualClock) -> None:
    tg = ThreadGroup()
    ran: list[str] = []
    running = tg.add_thread(greenlane.sleep, 3)
    greenlane.sleep(0)  # the first one starts
    queued = tg.add_thread(ran.append, "queued")
    tg.cancel()
    assert virtual_clock.now() == 0
    with pytest.raises(GreenletExit):
        queued.wait()
    assert queued.thread.cancelled()
    running.wait()  # left running
    assert virtual_clock.now() == 3
    assert ran == []


def test_cancel_with_timeout_stops_what_still_runs(virtual_clock: VirtualClock) -> None:
    tg = ThreadGroup()
    log: list[tuple[str, float]] = []
    slow = tg.add_thread(napper, virtual_clock, log, "slow", 100)
    ticks: list[float] = []
    tg.add_timer_args(2, lambda: ticks.append(virtual_clock.now()))
    greenlane.sleep(0)
    tg.cancel(timeout=5, wait_time=1)
    assert virtual_clock.now() == 5
    with pytest.raises(GreenletExit):
        slow.wait()
    assert tg.timers == []  # stop() stopped the timers too
    assert ticks == [0, 2, 4]


def test_cancel_returns_when_threads_end_within_timeout(virtual_clock: VirtualClock) -> None:
    tg = ThreadGroup()
    log: list[tuple[str, float]] = []
    tg.add_thread(napper, virtual_clock, log, "quick", 2.5)
    ticks: list[float] = []
    timer = tg.add_timer_args(10, lambda: ticks.append(virtual_clock.now()))
    greenlane.sleep(0)
    tg.cancel(timeout=60, wait_time=1)
    assert virtual_clock.now() == 3  # checked every second
    assert timer._running  # as in oslo, timers are left alone when threads end in time
    tg.stop()
    timer.wait()


def test_cancel_last_check_does_not_overshoot_the_timeout(virtual_clock: VirtualClock) -> None:
    tg = ThreadGroup()
    tg.add_thread(greenlane.sleep, 100)
    greenlane.sleep(0)
    tg.cancel(timeout=2.5, wait_time=1)
    assert virtual_clock.now() == 2.5
    tg.wait()


def test_repr_shows_counts(virtual_clock: VirtualClock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    tg = ThreadGroup(thread_pool_size=3)
    thread = tg.add_thread(greenlane.sleep, 1)
    tg.add_timer_args(1, lambda: None)
    greenlane.sleep(0)
    assert repr(tg) == "<ThreadGroup threads=1 timers=1 pool=1/3>"
    assert repr(thread).startswith("<Thread <GreenThread ")
    tg.stop()
    tg.wait()
    assert repr(tg) == "<ThreadGroup threads=0 timers=0 pool=0/3>"
