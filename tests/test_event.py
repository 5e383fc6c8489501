"""eventlet's Event: send/wait/reset, exceptions, FIFO wake-ups."""

from __future__ import annotations

import pytest

import greenlane
from greenlane.event import AlreadySentError, Event


def test_wait_returns_sent_value_to_every_waiter_in_fifo_order() -> None:
    ev: Event[str] = Event()
    order: list[tuple[int, str]] = []
    gts = [greenlane.spawn(lambda i=i: order.append((i, ev.wait()))) for i in range(5)]
    greenlane.sleep(0)
    assert not ev.ready()
    ev.send("go")
    for gt in gts:
        gt.wait()
    assert order == [(i, "go") for i in range(5)]
    assert ev.wait() == "go"  # already sent: no blocking
    assert ev.ready() and ev.has_result() and not ev.has_exception()


def test_second_send_raises_until_reset() -> None:
    ev: Event[int] = Event()
    ev.send(1)
    with pytest.raises(AlreadySentError):
        ev.send(2)
    with pytest.raises(AssertionError):  # eventlet raised AssertionError: still caught
        ev.send(2)
    ev.reset()
    assert not ev.ready()
    ev.send(3)
    assert ev.wait() == 3


def test_reset_after_send_does_not_rob_woken_waiters() -> None:
    ev: Event[str] = Event()
    gt = greenlane.spawn(ev.wait)
    greenlane.sleep(0)
    ev.send("first")
    ev.reset()  # before the waiter ran
    assert gt.wait() == "first"


def test_wait_timeout_returns_none_and_leaves_no_waiter() -> None:
    ev: Event[int] = Event()
    assert ev.wait(0.01) is None
    assert len(ev._waiters) == 0
    assert greenlane.get_hub().statistics().timers == 0


@pytest.mark.parametrize(
    "exc",
    [ValueError("inst"), ValueError, (ValueError, "tuple"), (ValueError, ValueError("tv"), None)],
)
def test_send_exception_forms(exc: object) -> None:
    ev: Event[None] = Event()
    gt = greenlane.spawn(ev.wait)
    greenlane.sleep(0)
    if isinstance(exc, tuple):
        ev.send_exception(*exc)
    else:
        ev.send(exc=exc)
    with pytest.raises(ValueError):
        gt.wait()
    assert ev.has_exception() and not ev.has_result()
    with pytest.raises(ValueError):
        ev.wait()


def test_send_rejects_non_exception() -> None:
    with pytest.raises(TypeError, match="'boom'"):
        Event().send(exc="boom")


def test_poll() -> None:
    ev: Event[int] = Event()
    assert ev.poll() is None
    assert ev.poll("nope") == "nope"
    ev.send(4)
    assert ev.poll() == 4


def test_killed_waiter_does_not_block_others() -> None:
    ev: Event[int] = Event()
    a = greenlane.spawn(ev.wait)
    b = greenlane.spawn(ev.wait)
    greenlane.sleep(0)
    a.kill()
    ev.send(9)
    assert b.wait() == 9


def test_repr_shows_state() -> None:
    ev: Event[int] = Event()
    gt = greenlane.spawn(ev.wait)
    greenlane.sleep(0)
    assert repr(ev) == "<Event unset waiters=1>"
    ev.send(5)
    assert repr(ev) == "<Event result=5 waiters=0>"
    gt.wait()


def test_cross_thread_send_is_a_clear_error_and_call_soon_threadsafe_works() -> None:
    import threading

    ev: Event[str] = Event()
    hub = greenlane.get_hub()
    errors: list[BaseException] = []

    def other_thread() -> None:
        try:
            ev.send("direct")
        except greenlane.CrossThreadError as exc:
            errors.append(exc)
        hub.call_soon_threadsafe(ev.send, "via hub")

    gt = greenlane.spawn(ev.wait)
    greenlane.sleep(0)
    hub.hold_external()
    thread = threading.Thread(target=other_thread)
    thread.start()
    try:
        assert gt.wait() == "via hub"
    finally:
        hub.release_external()
        thread.join()
    assert errors and "call_soon_threadsafe" in str(errors[0])
