"""Semaphore, BoundedSemaphore, CappedSemaphore: counts, FIFO hand-off, timeouts, native threads."""

from __future__ import annotations

import threading

import pytest

import greenlane
from greenlane.semaphore import BoundedSemaphore, CappedSemaphore, Semaphore
from greenlane.testing import VirtualClock, wait_until


def test_counts_and_nonblocking() -> None:
    sem = Semaphore(2)
    assert sem.acquire() and sem.acquire(blocking=False)
    assert sem.locked() and sem.counter == 0
    assert sem.acquire(blocking=False) is False
    sem.release()
    assert not sem.locked() and sem.balance == 1
    with sem:
        assert sem.counter == 0
    assert sem.counter == 1
    assert repr(sem) == "<Semaphore value=1 waiters=0>"


@pytest.mark.parametrize(
    ("value", "error"), [(-1, ValueError), (1.5, TypeError), ("2", TypeError), (True, TypeError)]
)
def test_bad_values(value: object, error: type[Exception]) -> None:
    with pytest.raises(error, match=repr(value).replace(".", r"\.")):
        Semaphore(value)  # type: ignore[arg-type]


def test_bad_timeouts() -> None:
    sem = Semaphore(0)
    with pytest.raises(ValueError, match="non-blocking"):
        sem.acquire(blocking=False, timeout=1)
    with pytest.raises(ValueError, match="-2"):
        sem.acquire(timeout=-2)
    assert sem.release() is True  # eventlet's signature
    assert not sem.bounded() and BoundedSemaphore().bounded()


def test_timeouts(virtual_clock: VirtualClock) -> None:
    sem = Semaphore(0)
    assert sem.acquire(timeout=0) is False
    assert sem.acquire(timeout=5) is False
    assert virtual_clock.now() == 5
    assert sem.balance == 0


def test_waiters_are_served_fifo_without_barging() -> None:
    sem = Semaphore(0)
    order: list[int] = []

    def taker(i: int) -> None:
        sem.acquire()
        order.append(i)

    gts = [greenlane.spawn(taker, i) for i in range(5)]
    greenlane.sleep(0)
    assert sem.balance == -5
    sem.release()
    # A late-comer finds the count at 0: the unit was handed to waiter 0.
    assert sem.acquire(blocking=False) is False
    for _ in range(4):
        sem.release()
    for gt in gts:
        gt.wait()
    assert order == [0, 1, 2, 3, 4]
    assert sem.counter == 0


@pytest.mark.parametrize("exc", [greenlane.GreenletExit, greenlane.Timeout])
def test_abandoned_handoff_goes_to_the_next_waiter(exc: type[BaseException]) -> None:
    sem = Semaphore(0)
    got: list[str] = []

    def taker(name: str) -> None:
        sem.acquire()
        got.append(name)

    first = greenlane.spawn(taker, "first")
    second = greenlane.spawn(taker, "second")
    greenlane.sleep(0)
    sem.release()  # handed to "first"...
    first.kill(exc)  # ...which dies before it ran: the unit must reach "second"
    assert first.dead
    assert isinstance(first.exception(), exc)
    second.wait()
    assert got == ["second"]
    assert sem.counter == 0


def test_timed_out_waiter_leaves_no_trace(virtual_clock: VirtualClock) -> None:
    sem = Semaphore(0)
    late = greenlane.spawn(sem.acquire, timeout=1)
    waiter = greenlane.spawn(sem.acquire)
    assert late.wait() is False
    sem.release()
    assert waiter.wait() is True
    assert sem.counter == 0 and sem.balance == 0


def test_bounded_semaphore_refuses_over_release() -> None:
    sem = BoundedSemaphore(1)
    with pytest.raises(ValueError, match="released more times"):
        sem.release()
    sem.acquire()
    sem.release()
    assert repr(sem) == "<BoundedSemaphore value=1 waiters=0>"


def test_capped_semaphore() -> None:
    sem = CappedSemaphore(1, 2)
    assert sem.release(blocking=False) is True
    assert sem.release(blocking=False) is False  # at its limit
    assert sem.counter == 2
    assert sem.acquire() and sem.acquire()
    assert sem.acquire(blocking=False) is False
    released = greenlane.spawn(sem.release)
    greenlane.sleep(0)
    released.wait()
    assert sem.counter == 1 and sem.balance == 0 and not sem.locked()  # eventlet's balance
    with sem:
        assert sem.locked()
    with pytest.raises(ValueError, match="above its limit"):
        CappedSemaphore(3, 2)
    assert "limit=2" in repr(sem)


def test_native_threads_and_green_threads_share_a_semaphore() -> None:
    sem = Semaphore(0)
    hub = greenlane.get_hub()
    got: list[int] = []
    native_got: list[int] = []

    def green_taker(i: int) -> None:
        sem.acquire()
        got.append(i)

    takers = [greenlane.spawn(green_taker, i) for i in range(200)]
    greenlane.sleep(0)  # all parked: the semaphore belongs to this hub

    def native(i: int) -> None:
        try:
            for _ in range(12):
                sem.release()
            for _ in range(2):
                assert sem.acquire(timeout=30)
                native_got.append(i)
        finally:
            hub.release_external()

    threads = [threading.Thread(target=native, args=(i,)) for i in range(20)]
    for thread in threads:
        hub.hold_external()
        thread.start()
    for gt in takers:
        gt.wait()
    wait_until(lambda: not any(t.is_alive() for t in threads))
    assert sorted(got) == list(range(200))
    assert len(native_got) == 40
    assert sem.counter == 20 * 12 - 200 - 40


def test_native_thread_never_strands_an_unowned_semaphore() -> None:
    sem = Semaphore(1)
    thread = threading.Thread(target=sem.acquire)  # succeeds at once: must not claim it
    thread.start()
    thread.join()
    assert sem._owner is None
    sem.release()
    assert sem.acquire(timeout=1) is True  # would hang if a dead hub owned it
    sem.release()
    empty = Semaphore(0)
    errors: list[BaseException] = []

    def must_wait() -> None:
        try:
            empty.acquire()  # nobody green uses it: nothing could ever wake this thread
        except greenlane.CrossThreadError as exc:
            errors.append(exc)

    thread = threading.Thread(target=must_wait)
    thread.start()
    thread.join(10)
    assert errors and "no green thread" in str(errors[0])


def test_capped_semaphore_with_zero_limit_hands_units_over() -> None:
    sem = CappedSemaphore(0, 0)
    assert sem.locked() and sem.bounded()
    taker = greenlane.spawn(sem.acquire)
    greenlane.sleep(0)
    assert sem.release(blocking=False) is True  # a waiting acquirer takes it at once
    assert taker.wait() is True
    assert sem.counter == 0


def test_capped_semaphore_timeouts_take_their_gift_back(virtual_clock: VirtualClock) -> None:
    sem = CappedSemaphore(0, 1)
    assert sem.acquire(timeout=1) is False
    assert sem.release(blocking=False) is True  # room is still 1: the gift was taken back
    assert sem.release(timeout=1) is False
    assert sem.counter == 1 and sem.bounded()

