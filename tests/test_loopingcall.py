"""oslo.service's looping calls on the virtual clock: exact schedules, outcomes, stop and timeouts."""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from greenlet import GreenletExit

import greenlane
from greenlane import loopingcall
from greenlane.loopingcall import (
    FAILED_RUN_DELAY,
    BackOffLoopingCall,
    DynamicLoopingCall,
    FixedIntervalLoopingCall,
    FixedIntervalWithTimeoutLoopingCall,
    LoopingCallBase,
    LoopingCallDone,
    LoopingCallTimeOut,
    RetryDecorator,
)
from greenlane.testing import VirtualClock


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every timeout given to ``LoopingCallBase._sleep``, which still sleeps."""
    record: list[float] = []
    original = LoopingCallBase._sleep

    def recording(self: LoopingCallBase, timeout: float) -> None:
        record.append(timeout)
        original(self, timeout)

    monkeypatch.setattr(LoopingCallBase, "_sleep", recording)
    return record


def done_after(n: int, clock: VirtualClock, retvalue: Any = "done") -> tuple[Callable[[], None], list[float]]:
    """A function that records when it ran and ends the loop on its ``n``-th run."""
    runs: list[float] = []

    def run() -> None:
        runs.append(clock.now())
        if len(runs) == n:
            raise LoopingCallDone(retvalue)

    return run, runs


def results(*values: Any) -> Iterator[Any]:
    yield from values


# -- FixedIntervalLoopingCall --------------------------------------------------


def test_fixed_interval_ticks_until_stopped(virtual_clock: VirtualClock) -> None:
    ticks: list[float] = []
    call = FixedIntervalLoopingCall(lambda: ticks.append(virtual_clock.now()))
    call.start(interval=10)
    greenlane.sleep(35)
    call.stop()
    assert call.wait() is True
    assert ticks == [0, 10, 20, 30]
    assert virtual_clock.now() == 35  # stop() woke the sleeping loop at once


def test_nova_waits_for_a_reboot(virtual_clock: VirtualClock) -> None:
    # The pattern from Nova's libvirt driver, as the issue quotes it.
    instance = {"state": "SHUTDOWN"}

    def reboot() -> None:
        greenlane.sleep(2.3)
        instance["state"] = "RUNNING"

    def _wait_for_reboot() -> None:
        if instance["state"] == "RUNNING":
            raise loopingcall.LoopingCallDone()

    rebooter = greenlane.spawn(reboot)
    timer = loopingcall.FixedIntervalLoopingCall(_wait_for_reboot)
    assert timer.start(interval=0.5).wait() is True
    assert virtual_clock.now() == 2.5  # the first poll after the reboot finished
    rebooter.wait()


@pytest.mark.parametrize("retvalue", [True, False, None, {"state": "RUNNING"}])
def test_looping_call_done_gives_its_retvalue(virtual_clock: VirtualClock, retvalue: Any) -> None:
    run, runs = done_after(3, virtual_clock, retvalue)
    assert FixedIntervalLoopingCall(run).start(interval=0.5).wait() == retvalue
    assert runs == [0, 0.5, 1.0]


def test_looping_call_done_default_retvalue_is_true(virtual_clock: VirtualClock) -> None:
    def run() -> None:
        raise LoopingCallDone()

    assert FixedIntervalLoopingCall(run).start(interval=1).wait() is True


def test_exception_ends_the_loop_and_is_raised_by_wait(
    virtual_clock: VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    runs: list[float] = []

    def poll() -> None:
        runs.append(virtual_clock.now())
        if len(runs) == 2:
            raise KeyError("vm vanished")

    call = FixedIntervalLoopingCall(poll)
    done = call.start(interval=5)
    with pytest.raises(KeyError, match="vm vanished"):
        done.wait()
    with pytest.raises(KeyError):  # wait() on the call says the same
        call.wait()
    assert runs == [0, 5]
    (record,) = [r for r in caplog.records if r.name == "greenlane.loopingcall"]
    assert record.levelno == logging.ERROR
    assert record.getMessage() == f"Fixed interval looping call {loopingcall._callable_name(poll)!r} failed"
    assert record.exc_info is not None


def test_interval_adjustment_exact_sleeps(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, virtual_clock: VirtualClock
) -> None:
    # oslo's own case: interval 1.01 and runs of 0.99, 2 and 1.02 seconds.
    elapsed = results(0.99, 2.0, 1.02)
    monkeypatch.setattr(LoopingCallBase, "_elapsed", lambda self, watch: next(elapsed))
    sleeps: list[float] = []
    monkeypatch.setattr(LoopingCallBase, "_sleep", lambda self, timeout: sleeps.append(timeout))
    run, _ = done_after(4, virtual_clock)
    caplog.set_level(logging.WARNING, "greenlane.loopingcall")
    FixedIntervalLoopingCall(run).start(interval=1.01).wait()
    assert sleeps == [pytest.approx(0.02), 0, 0]
    assert [r.getMessage() for r in caplog.records] == [
        f"Function {loopingcall._callable_name(run)!r} run outlasted interval by 0.99 sec",
        f"Function {loopingcall._callable_name(run)!r} run outlasted interval by 0.01 sec",
    ]


def test_interval_counts_from_the_start_of_each_run(virtual_clock: VirtualClock) -> None:
    starts: list[float] = []

    def slow() -> None:
        starts.append(virtual_clock.now())
        greenlane.sleep([3, 12, 1][len(starts) - 1])  # the second run overruns by 2 s
        if len(starts) == 3:
            raise LoopingCallDone()

    FixedIntervalLoopingCall(slow).start(interval=10).wait()
    assert starts == [0, 10, 22]


def test_initial_delay_goes_through_sleep(virtual_clock: VirtualClock, sleeps: list[float]) -> None:
    run, runs = done_after(3, virtual_clock)
    FixedIntervalLoopingCall(run).start(interval=10, initial_delay=5).wait()
    assert sleeps == [5, 10, 10]
    assert runs == [5, 15, 25]


def test_stop_from_inside_the_function(virtual_clock: VirtualClock, sleeps: list[float]) -> None:
    runs: list[float] = []

    def run() -> None:
        runs.append(virtual_clock.now())
        if len(runs) == 2:
            call.stop()

    call = FixedIntervalLoopingCall(run)
    assert call.start(interval=4).wait() is True
    assert runs == [0, 4]
    assert sleeps == [4]  # no sleep after the run that stopped it


def test_stop_wakes_a_long_sleep_at_once(virtual_clock: VirtualClock) -> None:
    call = FixedIntervalLoopingCall(lambda: None)
    call.start(interval=3600)
    greenlane.sleep(1)
    assert call._running
    call.stop()
    assert not call._running
    assert call.wait() is True
    assert virtual_clock.now() == 1


def test_stop_during_initial_delay_means_no_run(virtual_clock: VirtualClock) -> None:
    runs: list[float] = []
    call = FixedIntervalLoopingCall(lambda: runs.append(virtual_clock.now()))
    call.start(interval=1, initial_delay=60)
    greenlane.sleep(30)
    call.stop()
    assert call.wait() is True
    assert runs == []
    assert virtual_clock.now() == 30


def test_stop_twice_and_before_start_are_harmless(virtual_clock: VirtualClock) -> None:
    call = FixedIntervalLoopingCall(lambda: None)
    call.stop()  # before start: start() clears it
    run, runs = done_after(2, virtual_clock)
    call.f = run
    assert call.start(interval=1).wait() == "done"
    call.stop()
    call.stop()
    assert runs == [0, 1]


def test_second_start_while_running_raises_then_restart_works(virtual_clock: VirtualClock) -> None:
    call = FixedIntervalLoopingCall(lambda: None)
    call.start(interval=10)
    with pytest.raises(RuntimeError, match="can only run one function at a time"):
        call.start(interval=10)
    call.stop()
    with pytest.raises(RuntimeError):  # still running until the loop has ended
        call.start(interval=10)
    assert call.wait() is True
    run, runs = done_after(2, virtual_clock)
    call.f = run
    first_done = call.done
    assert call.start(interval=2).wait() == "done"
    assert call.done is not first_done
    assert runs == [0, 2]


def test_wait_before_start_raises_a_clear_error() -> None:
    call = FixedIntervalLoopingCall(lambda: None)
    with pytest.raises(RuntimeError, match=r"never started: call start\(\) before wait\(\)"):
        call.wait()


def test_start_needs_a_callable() -> None:
    with pytest.raises(TypeError, match="needs a callable"):
        FixedIntervalLoopingCall().start(interval=1)


@pytest.mark.parametrize("interval", ["1234", None, [1]])
def test_bad_interval_is_accepted_then_fails_in_the_loop(virtual_clock: VirtualClock, interval: Any) -> None:
    runs: list[float] = []
    call = FixedIntervalLoopingCall(lambda: runs.append(virtual_clock.now()))
    done = call.start(interval=interval)  # accepted, as oslo accepts it
    with pytest.raises(TypeError, match=re.escape(f"interval must be a number of seconds, not {interval!r}")):
        done.wait()
    assert runs == [0]  # the function ran once, as in oslo, before the interval was used


def test_bad_initial_delay_fails_in_the_loop(virtual_clock: VirtualClock) -> None:
    runs: list[float] = []
    call = FixedIntervalLoopingCall(lambda: runs.append(1))
    with pytest.raises(TypeError, match="initial_delay must be a number of seconds, not '5'"):
        call.start(interval=1, initial_delay="5").wait()  # type: ignore[arg-type]
    assert runs == []


def test_nan_interval_is_a_value_error(virtual_clock: VirtualClock) -> None:
    with pytest.raises(ValueError, match="interval must be a number of seconds, not nan"):
        FixedIntervalLoopingCall(lambda: None).start(interval=float("nan")).wait()


def test_stop_on_exception_false_keeps_the_schedule(
    virtual_clock: VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    runs: list[float] = []

    def flaky() -> None:
        runs.append(virtual_clock.now())
        if len(runs) in (1, 2):
            raise OSError("hypervisor busy")
        raise LoopingCallDone("up")

    assert FixedIntervalLoopingCall(flaky).start(interval=3, stop_on_exception=False).wait() == "up"
    assert runs == [0, 3, 6]
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(failures) == 2
    assert all(r.exc_info and isinstance(r.exc_info[1], OSError) for r in failures)


def test_args_and_kw_reach_the_function_and_may_change(virtual_clock: VirtualClock) -> None:
    seen: list[tuple[Any, ...]] = []

    def run(*args: Any, **kw: Any) -> None:
        seen.append((args, kw))
        if len(seen) == 1:
            call.args = ("b",)
            call.kw["n"] = 2
        else:
            raise LoopingCallDone()

    call = FixedIntervalLoopingCall(run, "a", n=1)
    assert call.args == ("a",)
    assert call.kw == {"n": 1}
    assert call.kwargs is call.kw
    call.start(interval=1).wait()
    assert seen == [(("a",), {"n": 1}), (("b",), {"n": 2})]


def test_a_killed_loop_wakes_its_waiters(virtual_clock: VirtualClock) -> None:
    call = FixedIntervalLoopingCall(lambda: None)
    call.start(interval=10)
    greenlane.sleep(1)
    assert call._thread is not None
    call._thread.kill()
    with pytest.raises(GreenletExit):
        call.wait()
    assert call._thread is None


def test_repr_shows_the_state(virtual_clock: VirtualClock) -> None:
    def poll() -> None:
        raise ValueError("x")

    call = FixedIntervalLoopingCall(poll)
    assert repr(call).endswith("poll not started>")
    assert repr(call).startswith("<FixedIntervalLoopingCall ")
    call.start(interval=1)
    assert repr(call).endswith("poll running>")
    call.stop()
    assert repr(call).endswith("poll stopping>")
    assert call.wait() is True
    assert repr(call).endswith("poll done result=True>")
    with pytest.raises(ValueError):
        call.start(interval=1).wait()
    assert repr(call).endswith("poll failed ValueError>")


# -- FixedIntervalWithTimeoutLoopingCall ----------------------------------------


def test_fixed_interval_with_timeout_times_out(virtual_clock: VirtualClock) -> None:
    runs: list[float] = []
    call = FixedIntervalWithTimeoutLoopingCall(lambda: runs.append(virtual_clock.now()))
    with pytest.raises(LoopingCallTimeOut, match=r"^Looping call timed out after 30\.00 seconds$"):
        call.start(interval=10, timeout=25).wait()
    assert runs == [0, 10, 20, 30]  # checked after each run, as in oslo


def test_fixed_interval_with_timeout_counts_the_initial_delay(virtual_clock: VirtualClock) -> None:
    runs: list[float] = []
    call = FixedIntervalWithTimeoutLoopingCall(lambda: runs.append(virtual_clock.now()))
    with pytest.raises(LoopingCallTimeOut, match=r"after 25\.00 seconds"):
        call.start(interval=10, initial_delay=15, timeout=20).wait()
    assert runs == [15, 25]


def test_fixed_interval_with_timeout_zero_never_times_out(virtual_clock: VirtualClock) -> None:
    run, runs = done_after(50, virtual_clock)
    assert FixedIntervalWithTimeoutLoopingCall(run).start(interval=100, timeout=0).wait() == "done"
    assert runs[-1] == 4900


def test_fixed_interval_timeout_ignores_the_wall_clock(
    virtual_clock: VirtualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    wall = iter(range(0, 10**9, 10**6))  # the wall clock leaps 11 days per read
    monkeypatch.setattr(time, "time", lambda: float(next(wall)))
    run, runs = done_after(3, virtual_clock)
    assert FixedIntervalWithTimeoutLoopingCall(run).start(interval=1, timeout=60).wait() == "done"
    assert runs == [0, 1, 2]


# -- DynamicLoopingCall -----------------------------------------------------------


def test_dynamic_sleeps_what_the_function_returns_capped(
    virtual_clock: VirtualClock, sleeps: list[float]
) -> None:
    delays = results(5, 1, 30, 0)
    runs: list[float] = []

    def run() -> float:
        runs.append(virtual_clock.now())
        if len(runs) == 5:
            raise LoopingCallDone(False)
        return next(delays)  # type: ignore[no-any-return]

    assert DynamicLoopingCall(run).start(periodic_interval_max=10).wait() is False
    assert sleeps == [5, 1, 10, 0]
    assert runs == [0, 5, 6, 16, 16]


def test_dynamic_initial_delay_and_no_cap(virtual_clock: VirtualClock, sleeps: list[float]) -> None:
    remaining = [2]

    def run() -> float:
        if remaining[0] == 0:
            raise LoopingCallDone()
        remaining[0] -= 1
        return remaining[0] * 10 + 1

    DynamicLoopingCall(run).start(initial_delay=3).wait()
    assert sleeps == [3, 11, 1]
    assert virtual_clock.now() == 15


def test_dynamic_none_sleeps_the_max(virtual_clock: VirtualClock, sleeps: list[float]) -> None:
    run, runs = done_after(3, virtual_clock)
    DynamicLoopingCall(run).start(periodic_interval_max=7).wait()
    assert sleeps == [7, 7]
    assert runs == [0, 7, 14]


def test_dynamic_none_without_max_is_a_runtime_error(virtual_clock: VirtualClock) -> None:
    with pytest.raises(RuntimeError, match="should supply either an interval or periodic_interval_max"):
        DynamicLoopingCall(lambda: None).start().wait()


def test_dynamic_bad_return_value_names_it(virtual_clock: VirtualClock) -> None:
    expected = "the delay the function returned must be a number of seconds, not 'soon'"
    with pytest.raises(TypeError, match=expected):
        DynamicLoopingCall(lambda: "soon").start().wait()


def test_dynamic_exception_stops_by_default(virtual_clock: VirtualClock) -> None:
    def run() -> float:
        raise OSError("down")

    with pytest.raises(OSError, match="down"):
        DynamicLoopingCall(run).start(periodic_interval_max=5, stop_on_exception=True).wait()
    assert virtual_clock.now() == 0


@pytest.mark.parametrize(("cap", "expected_gap"), [(None, FAILED_RUN_DELAY), (7, 7)])
def test_dynamic_failing_runs_still_sleep(
    virtual_clock: VirtualClock, sleeps: list[float], cap: float | None, expected_gap: float
) -> None:
    # oslo slept 0 after a failed run: a function that keeps failing spun the hub.
    runs: list[float] = []

    def run() -> float:
        runs.append(virtual_clock.now())
        if len(runs) <= 3:
            raise OSError("still failing")
        if len(runs) == 4:
            return 2  # recovered: its own delay again
        raise LoopingCallDone("ok")

    call = DynamicLoopingCall(run)
    assert call.start(periodic_interval_max=cap, stop_on_exception=False).wait() == "ok"
    assert sleeps == [expected_gap, expected_gap, expected_gap, 2]
    assert runs == [0, expected_gap, 2 * expected_gap, 3 * expected_gap, 3 * expected_gap + 2]


def test_dynamic_stop_from_outside(virtual_clock: VirtualClock) -> None:
    call = DynamicLoopingCall(lambda: 1000)
    call.start()
    greenlane.sleep(1500)
    call.stop()
    assert call.wait() is True
    assert virtual_clock.now() == 1500


# -- BackOffLoopingCall -----------------------------------------------------------


class FixedGauss(random.Random):
    """An RNG whose ``gauss`` returns fixed draws and records its arguments."""

    def __init__(self, *draws: float) -> None:
        super().__init__()
        self.draws = list(draws)
        self.calls: list[tuple[float, float]] = []

    def gauss(self, mu: float = 0.0, sigma: float = 1.0) -> float:
        self.calls.append((mu, sigma))
        return self.draws.pop(0) if len(self.draws) > 1 else self.draws[0]


def backoff_with(monkeypatch: pytest.MonkeyPatch, outcomes: list[Any], *draws: float) -> tuple[
    BackOffLoopingCall, FixedGauss
]:
    rng = FixedGauss(*draws)
    monkeypatch.setattr(BackOffLoopingCall, "_RNG", rng)
    queue = list(outcomes)

    def run() -> Any:
        outcome = queue.pop(0) if queue else False
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    return BackOffLoopingCall(run), rng


def test_backoff_doubles_on_failure_up_to_max_interval(
    virtual_clock: VirtualClock, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    call, rng = backoff_with(monkeypatch, [False] * 6 + [LoopingCallDone("up")], 1.0)
    assert call.start(jitter=1.0, max_interval=10, timeout=0).wait() == "up"
    assert sleeps == [2, 4, 8, 10, 10, 10]
    assert rng.calls == [(1.0, 0.1)] * 6


def test_backoff_grows_by_the_mean_jitter_and_sleeps_the_drawn_one(
    virtual_clock: VirtualClock, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    # jitter 0.75: the interval grows x1.5 a failure; each sleep is 2 x interval x the draw.
    call, _ = backoff_with(monkeypatch, [False, False, False, LoopingCallDone()], 1.0, -0.5, 0.25)
    call.start(jitter=0.75).wait()
    assert sleeps == [2.0, pytest.approx(1.5), pytest.approx(1.125)]  # abs() of the negative draw
    assert call._interval == pytest.approx(3.375)


def test_backoff_success_resets_to_starting_interval(
    virtual_clock: VirtualClock, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    call, _ = backoff_with(monkeypatch, [False, False, True, False, LoopingCallDone()], 1.0)
    call.start(starting_interval=3, jitter=1.0).wait()
    assert sleeps == [6, 12, 3, 6]
    assert virtual_clock.now() == 27


def test_backoff_times_out_before_sleeping_past_timeout(
    virtual_clock: VirtualClock, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    call, _ = backoff_with(monkeypatch, [], 1.0)  # always fails
    with pytest.raises(LoopingCallTimeOut, match=r"^Looping call timed out after 30\.00 seconds$"):
        call.start(jitter=1.0, timeout=20).wait()
    assert sleeps == [2, 4, 8]
    assert virtual_clock.now() == 14


def test_backoff_min_interval_and_initial_delay(
    virtual_clock: VirtualClock, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    call, _ = backoff_with(monkeypatch, [False, False, LoopingCallDone()], 1.0)
    call.start(initial_delay=4, starting_interval=0.0001, min_interval=0.5, jitter=1.0).wait()
    assert sleeps == [4, 0.5, 1.0]


def test_backoff_restart_resets_state_and_double_start_raises(
    virtual_clock: VirtualClock, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    call, _ = backoff_with(monkeypatch, [False, False, LoopingCallDone(), False, LoopingCallDone()], 1.0)
    done = call.start(jitter=1.0)
    with pytest.raises(RuntimeError, match="backoff interval looping call can only run one function"):
        call.start()
    done.wait()
    call.start(jitter=1.0).wait()
    assert sleeps == [2, 4, 2]  # the second start began again at starting_interval


def test_backoff_uses_a_system_rng_by_default() -> None:
    assert isinstance(BackOffLoopingCall._RNG, random.SystemRandom)


# -- RetryDecorator ---------------------------------------------------------------


class Flaky:
    """Raises the queued exceptions, one per call, then returns ``result``."""

    def __init__(self, *errors: BaseException, result: Any = "ok") -> None:
        self.errors = list(errors)
        self.result = result
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((args, kwargs))
        if self.errors:
            raise self.errors.pop(0)
        return self.result


def test_retry_sleeps_grow_and_the_result_is_returned(
    virtual_clock: VirtualClock, sleeps: list[float]
) -> None:
    flaky = Flaky(ValueError(), ValueError())
    retry = RetryDecorator(inc_sleep_time=10, max_sleep_time=60, exceptions=(ValueError,))
    assert retry(flaky)("a", key=1) == "ok"
    assert flaky.calls == [(("a",), {"key": 1})] * 3
    assert sleeps == [10, 20]
    assert virtual_clock.now() == 30
    assert (retry._retry_count, retry._sleep_time) == (2, 20)


def test_retry_sleep_is_capped_by_max_sleep_time(virtual_clock: VirtualClock, sleeps: list[float]) -> None:
    retry = RetryDecorator(inc_sleep_time=10, max_sleep_time=25, exceptions=(OSError,))
    assert retry(Flaky(*[OSError()] * 4, result=7))() == 7
    assert sleeps == [10, 20, 25, 25]
    assert retry._sleep_time == 40  # the counter grows on; only the sleep is capped (oslo's)


def test_retry_gives_up_after_max_retry_count(virtual_clock: VirtualClock, sleeps: list[float]) -> None:
    flaky = Flaky(*[OSError("nope")] * 10)
    retry = RetryDecorator(max_retry_count=2, inc_sleep_time=1, exceptions=(OSError,))
    with pytest.raises(OSError, match="nope"):
        retry(flaky)()
    assert len(flaky.calls) == 3
    assert sleeps == [1, 2]
    assert retry._retry_count == 2


def test_retry_unexpected_exception_is_raised_at_once(
    virtual_clock: VirtualClock, sleeps: list[float]
) -> None:
    flaky = Flaky(TypeError("bug"), ValueError())
    with pytest.raises(TypeError, match="bug"):
        RetryDecorator(exceptions=(ValueError,))(flaky)()
    assert len(flaky.calls) == 1
    assert sleeps == []


def test_retry_without_exceptions_retries_nothing(virtual_clock: VirtualClock) -> None:
    flaky = Flaky(ValueError("first"))
    with pytest.raises(ValueError, match="first"):
        RetryDecorator()(flaky)()
    assert len(flaky.calls) == 1


def test_retry_counters_reset_at_each_call(virtual_clock: VirtualClock, sleeps: list[float]) -> None:
    # oslo kept counting across calls: the second call below would have failed without a retry.
    retry = RetryDecorator(max_retry_count=2, inc_sleep_time=5, exceptions=(OSError,))
    flaky = Flaky(OSError(), OSError())
    wrapped = retry(flaky)
    assert wrapped() == "ok"
    assert (retry._retry_count, retry._sleep_time) == (2, 10)
    flaky.errors = [OSError(), OSError()]
    assert wrapped() == "ok"
    assert sleeps == [5, 10, 5, 10]
    flaky.errors = [OSError()]
    assert wrapped() == "ok"
    assert (retry._retry_count, retry._sleep_time) == (1, 5)  # the last call's values


def test_retry_concurrent_calls_count_separately(virtual_clock: VirtualClock) -> None:
    retry = RetryDecorator(max_retry_count=1, inc_sleep_time=3, exceptions=(OSError,))
    a, b = Flaky(OSError()), Flaky(OSError(), result="b")
    wrapped_a, wrapped_b = retry(a), retry(b)
    ga = greenlane.spawn(wrapped_a)
    gb = greenlane.spawn(wrapped_b)
    assert (ga.wait(), gb.wait()) == ("ok", "b")
    assert virtual_clock.now() == 3


def test_retry_keeps_the_function_name() -> None:
    def fetch_image() -> None:
        """Doc."""

    wrapped = RetryDecorator()(fetch_image)
    assert wrapped.__name__ == "fetch_image"
    assert wrapped.__doc__ == "Doc."
    assert "retries=0/-1" in repr(RetryDecorator())
