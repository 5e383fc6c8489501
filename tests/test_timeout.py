"""Timeout: raising, swallowing, nesting, cancelling, with_timeout, is_timeout.

Timer logic runs on the virtual clock (``virtual_clock``): each expiry is
checked at the exact moment it is due, and nothing depends on how fast the
machine is.
"""

from __future__ import annotations

import pytest

import greenlane
from greenlane.testing import VirtualClock, wait_until_parked
from greenlane.timeout import Timeout, is_timeout, with_timeout


def test_timeout_raises_itself_and_is_not_an_exception(virtual_clock: VirtualClock) -> None:
    assert not issubclass(Timeout, Exception)
    t = Timeout(0.01)
    with pytest.raises(Timeout) as info:
        try:
            greenlane.sleep(1)
        except Exception:  # must not swallow it
            pytest.fail("Timeout was caught by except Exception")
    assert info.value is t
    assert not t.pending
    assert virtual_clock.now() == pytest.approx(0.01)


def test_with_block_false_swallows(virtual_clock: VirtualClock) -> None:
    with Timeout(0.01, False):
        greenlane.sleep(1)
        pytest.fail("not reached")
    assert greenlane.get_hub().statistics().timers == 0
    assert virtual_clock.now() == pytest.approx(0.01)


def test_custom_exception_class_and_instance(virtual_clock: VirtualClock) -> None:
    with pytest.raises(KeyError), Timeout(0.01, KeyError):
        greenlane.sleep(1)
    err = OSError("custom")
    with pytest.raises(OSError) as info, Timeout(0.01, err):
        greenlane.sleep(1)
    assert info.value is err
    assert virtual_clock.now() == pytest.approx(0.02)


def test_cancel_stops_it_and_is_idempotent(virtual_clock: VirtualClock) -> None:
    t = Timeout(0.01)
    assert t.pending
    t.cancel()
    t.cancel()
    assert not t.pending
    greenlane.sleep(0.03)  # would have fired
    assert virtual_clock.now() == pytest.approx(0.03)


def test_none_never_fires(virtual_clock: VirtualClock) -> None:
    with Timeout(None) as t:
        greenlane.sleep(3600)
        assert greenlane.get_hub().statistics().timers == 0
    assert not t.pending
    assert str(t) == ""


def test_nested_timeouts_raise_the_right_one(virtual_clock: VirtualClock) -> None:
    with Timeout(10) as outer:
        with pytest.raises(Timeout) as info, Timeout(0.01) as inner:
            greenlane.sleep(1)
        assert info.value is inner
        assert outer.pending
    assert virtual_clock.now() == pytest.approx(0.01)
    with pytest.raises(Timeout) as info2, Timeout(0.01) as outer2, Timeout(10):
        greenlane.sleep(1)
    assert info2.value is outer2
    assert virtual_clock.now() == pytest.approx(0.02)


def test_expiry_after_thread_ended_is_harmless(virtual_clock: VirtualClock) -> None:
    def leaves_timeout_running() -> str:
        Timeout(0.01)
        return "done"

    assert greenlane.spawn(leaves_timeout_running).wait() == "done"
    assert greenlane.get_hub().statistics().timers == 1  # the orphan
    # A new task on the same worker, asleep when the orphan fires, is not hit.
    assert greenlane.spawn(lambda: greenlane.sleep(0.02) or "ok").wait() == "ok"
    assert virtual_clock.now() == pytest.approx(0.02)


def test_timeout_in_green_thread_interrupts_only_that_thread(virtual_clock: VirtualClock) -> None:
    def slow() -> str:
        try:
            with Timeout(0.01):
                greenlane.sleep(1)
        except Timeout:
            return "timed out"
        return "finished"

    gt = greenlane.spawn(slow)
    wait_until_parked(gt, reason="sleep")
    greenlane.sleep(0.05)  # this thread sleeps through gt's timeout, untouched
    assert virtual_clock.now() == pytest.approx(0.05)
    assert gt.dead
    assert gt.wait() == "timed out"


def test_timeout_delivered_even_if_woken_in_same_pass() -> None:
    ev: greenlane.Event[int] = greenlane.Event()
    # A zero timeout and a send queued together: one of them wins, never both,
    # and the thread is never resumed twice.
    results: list[object] = []

    def waiter() -> None:
        try:
            with Timeout(0):
                results.append(ev.wait())
        except Timeout:
            results.append("timeout")

    gt = greenlane.spawn(waiter)
    greenlane.sleep(0)
    ev.send(1)
    gt.wait()
    assert results in ([1], ["timeout"])
    greenlane.sleep(0)


def test_with_timeout(virtual_clock: VirtualClock) -> None:
    assert with_timeout(1, lambda x: x * 2, 21) == 42
    assert with_timeout(0.01, greenlane.sleep, 1, timeout_value="late") == "late"
    with pytest.raises(Timeout):
        with_timeout(0.01, greenlane.sleep, 1)
    assert virtual_clock.now() == pytest.approx(0.02)


def test_is_timeout() -> None:
    assert is_timeout(Timeout(None))
    assert is_timeout(TimeoutError())
    assert is_timeout(TimeoutError())
    assert not is_timeout(ValueError())


def test_bad_seconds(virtual_clock: VirtualClock) -> None:
    with pytest.raises(ValueError, match="nan"):
        Timeout(float("nan"))
    with pytest.raises(TypeError, match="Timeout\\(\\) seconds must be a number of seconds, not '1'"):
        Timeout("1")  # type: ignore[arg-type]
    with pytest.raises(Timeout), Timeout(-1):  # negative: already expired
        greenlane.sleep(1)
    assert virtual_clock.now() == 0


def test_repr_and_str() -> None:
    t = Timeout(5)
    assert str(t) == "5 seconds"
    assert "pending" in repr(t)
    t.cancel()
    assert "inactive" in repr(t)
    t = Timeout(1, ValueError)
    assert str(t).startswith("1 second (")
    t.cancel()


def test_exception_true_raises_the_timeout_itself(virtual_clock: VirtualClock) -> None:
    # eventlet's rule: anything but None/False/an exception raises the Timeout, unswallowed.
    with pytest.raises(Timeout) as info, Timeout(0.01, True) as t:
        greenlane.sleep(1)
    assert info.value is t


def test_throw_rejects_a_non_exception(virtual_clock: VirtualClock) -> None:
    gt = greenlane.spawn(greenlane.sleep, 1)
    wait_until_parked(gt, reason="sleep")
    with pytest.raises(TypeError, match="True"):
        greenlane.get_hub().throw(gt._glet, True)  # type: ignore[arg-type]
    gt.kill()
