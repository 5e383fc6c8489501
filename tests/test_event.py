"""eventlet's Event: send/wait/reset, exceptions, FIFO wake-ups."""

from __future__ import annotations

import pytest

import greenlane
from greenlane.event import AlreadySentError, Event
from greenlane.testing import assert_parked, wait_until, wait_until_parked


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


def test_native_thread_send_wakes_green_waiter() -> None:
    import threading

    ev: Event[str] = Event()
    gt = greenlane.spawn(ev.wait)
    greenlane.sleep(0)  # the waiter parks: the event now belongs to this hub
    hub = greenlane.get_hub()
    hub.hold_external()
    thread = threading.Thread(target=ev.send, args=("from native",))
    thread.start()
    try:
        assert gt.wait() == "from native"
    finally:
        hub.release_external()
        thread.join()


def test_native_send_before_anyone_waits_is_seen() -> None:
    import threading

    ev: Event[str] = Event()
    thread = threading.Thread(target=ev.send, args=("early",))
    thread.start()
    thread.join()
    assert ev.wait() == "early"


def test_native_thread_can_wait_on_a_green_event() -> None:
    import threading

    ev: Event[str] = Event()
    got: list[object] = []
    gt = greenlane.spawn(ev.wait)  # a green waiter makes this hub the owner
    greenlane.sleep(0)
    hub = greenlane.get_hub()
    hub.hold_external()

    def native() -> None:
        got.append(ev.wait())
        hub.release_external()

    thread = threading.Thread(target=native)
    thread.start()
    # The native wait is run by a second green thread of this hub: once it is
    # parked on the event too, the send below must go through that path.
    wait_until(lambda: hub.statistics().green_threads == 2)
    wait_until_parked()
    assert_parked(gt, reason="event")
    ev.send("both")
    assert gt.wait() == "both"
    wait_until(lambda: got)
    thread.join()
    assert got == ["both"]


def test_green_waiters_of_two_os_threads_are_refused() -> None:
    import threading

    ev: Event[str] = Event()
    gt = greenlane.spawn(ev.wait)
    greenlane.sleep(0)
    errors: list[BaseException] = []

    def other_hub_thread() -> None:
        try:
            greenlane.spawn(ev.wait).wait()
        except greenlane.CrossThreadError as exc:
            errors.append(exc)

    thread = threading.Thread(target=other_hub_thread)
    thread.start()
    thread.join(10)
    assert errors and "share a hub" in str(errors[0])
    ev.send("done")
    assert gt.wait() == "done"
