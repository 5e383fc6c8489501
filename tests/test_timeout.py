"""Timeout: raising, swallowing, nesting, cancelling, with_timeout, is_timeout."""

from __future__ import annotations

import pytest

import greenlane
from greenlane.timeout import Timeout, is_timeout, with_timeout


def test_timeout_raises_itself_and_is_not_an_exception() -> None:
    assert not issubclass(Timeout, Exception)
    t = Timeout(0.01)
    with pytest.raises(Timeout) as info:
        try:
            greenlane.sleep(1)
        except Exception:  # must not swallow it
            pytest.fail("Timeout was caught by except Exception")
    assert info.value is t
    assert not t.pending


def test_with_block_false_swallows() -> None:
    with Timeout(0.01, False):
        greenlane.sleep(1)
        pytest.fail("not reached")
    assert greenlane.get_hub().statistics().timers == 0


def test_custom_exception_class_and_instance() -> None:
    with pytest.raises(KeyError), Timeout(0.01, KeyError):
        greenlane.sleep(1)
    err = OSError("custom")
    with pytest.raises(OSError) as info, Timeout(0.01, err):
        greenlane.sleep(1)
    assert info.value is err


def test_cancel_stops_it_and_is_idempotent() -> None:
    t = Timeout(0.01)
    assert t.pending
    t.cancel()
    t.cancel()
    assert not t.pending
    greenlane.sleep(0.03)  # would have fired


def test_none_never_fires() -> None:
    with Timeout(None) as t:
        greenlane.sleep(0.01)
    assert not t.pending
    assert str(t) == ""


def test_nested_timeouts_raise_the_right_one() -> None:
    with Timeout(10) as outer:
        with pytest.raises(Timeout) as info, Timeout(0.01) as inner:
            greenlane.sleep(1)
        assert info.value is inner
        assert outer.pending
    with pytest.raises(Timeout) as info2, Timeout(0.01) as outer2, Timeout(10):
        greenlane.sleep(1)
    assert info2.value is outer2


def test_expiry_after_thread_ended_is_harmless() -> None:
    def leaves_timeout_running() -> str:
        Timeout(0.01)
        return "done"

    assert greenlane.spawn(leaves_timeout_running).wait() == "done"
    greenlane.sleep(0.03)  # the orphan fires into nobody
    # A new task on the same worker is not hit either.
    assert greenlane.spawn(lambda: greenlane.sleep(0.02) or "ok").wait() == "ok"


def test_timeout_in_green_thread_interrupts_only_that_thread() -> None:
    def slow() -> str:
        try:
            with Timeout(0.01):
                greenlane.sleep(1)
        except Timeout:
            return "timed out"
        return "finished"

    gt = greenlane.spawn(slow)
    greenlane.sleep(0.05)
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


def test_with_timeout() -> None:
    assert with_timeout(1, lambda x: x * 2, 21) == 42
    assert with_timeout(0.01, greenlane.sleep, 1, timeout_value="late") == "late"
    with pytest.raises(Timeout):
        with_timeout(0.01, greenlane.sleep, 1)


def test_is_timeout() -> None:
    assert is_timeout(Timeout(None))
    assert is_timeout(TimeoutError())
    assert is_timeout(TimeoutError())
    assert not is_timeout(ValueError())


def test_bad_seconds() -> None:
    with pytest.raises(ValueError, match="nan"):
        Timeout(float("nan"))
    with pytest.raises(TypeError, match="Timeout\\(\\) seconds must be a number of seconds, not '1'"):
        Timeout("1")  # type: ignore[arg-type]
    with pytest.raises(Timeout), Timeout(-1):  # negative: already expired
        greenlane.sleep(1)


def test_repr_and_str() -> None:
    t = Timeout(5)
    assert str(t) == "5 seconds"
    assert "pending" in repr(t)
    t.cancel()
    assert "inactive" in repr(t)
    t = Timeout(1, ValueError)
    assert str(t).startswith("1 second (")
    t.cancel()


def test_exception_true_raises_the_timeout_itself() -> None:
    # eventlet's rule: anything but None/False/an exception raises the Timeout, unswallowed.
    with pytest.raises(Timeout) as info, Timeout(0.01, True) as t:
        greenlane.sleep(1)
    assert info.value is t


def test_throw_rejects_a_non_exception() -> None:
    gt = greenlane.spawn(greenlane.sleep, 1)
    greenlane.sleep(0)
    with pytest.raises(TypeError, match="True"):
        greenlane.get_hub().throw(gt._glet, True)  # type: ignore[arg-type]
    gt.kill()
