"""A ``Timeout`` that expires after a wait already succeeded never undoes it.

The rule (``greenlane._core._parking``, soft throws): either the operation
completed and the call returns, or the call raises and nothing happened. A
``Timeout`` that expires in the window between a hand-off (an item given, a
put accepted, a unit granted) and the woken thread running is raised at that
thread's next wait instead. Before, ``with Timeout(0): channel.put(x)`` could
raise although the getter had ``x``, and a caller retrying on ``Timeout`` sent
it twice.

Each window is hit deterministically on the virtual clock: a hub callback
scheduled before the ``Timeout`` for the same instant does the hand-off, so
the ``Timeout`` fires right after it, while the woken thread has not run.
"""

from __future__ import annotations

from typing import Any

import pytest

import greenlane
from greenlane import GreenletExit
from greenlane.event import Event
from greenlane.hubs import get_hub
from greenlane.lock import Lock
from greenlane.queue import Full, LightQueue, PriorityQueue, Queue
from greenlane.semaphore import Semaphore
from greenlane.testing import VirtualClock
from greenlane.timeout import Timeout


def test_channel_put_that_delivered_returns_even_if_its_timeout_expires() -> None:
    q: Queue[str] = Queue(0)
    got: list[str] = []
    getter = greenlane.spawn(lambda: got.append(q.get()))
    greenlane.sleep(0)
    after: list[str] = []
    with pytest.raises(Timeout), Timeout(0):
        q.put("x")  # hands "x" over, then yields: the Timeout expires in that yield
        after.append("put returned")
        greenlane.sleep(0)  # ...and is raised here, at the next wait
    getter.wait()
    assert got == ["x"]
    assert after == ["put returned"]
    assert q.qsize() == 0 and q.unfinished_tasks == 1


def test_channel_put_that_did_not_deliver_raises_and_delivers_nothing() -> None:
    q: Queue[str] = Queue(0)
    with pytest.raises(Timeout), Timeout(0):
        q.put("x")  # no getter: parks, and the Timeout takes it out
    assert q.putting() == 0 and q.qsize() == 0 and q.unfinished_tasks == 0


def _at(clock: VirtualClock, when: float, fn: Any, *args: Any) -> None:
    get_hub().call_later(when - clock.now(), fn, *args)


@pytest.mark.parametrize("make", [lambda: Queue(1), lambda: LightQueue(1), lambda: PriorityQueue(1)])
def test_bounded_put_accepted_then_timed_out_returns(virtual_clock: VirtualClock, make: Any) -> None:
    q = make()
    q.put(1)
    taken: list[int] = []
    _at(virtual_clock, 1, lambda: taken.append(q.get_nowait()))  # admits the parked putter's 2
    returned = []
    with pytest.raises(Timeout), Timeout(1):
        q.put(2)  # parked until 1, when the get accepts the item; the Timeout fires next
        returned.append(virtual_clock.now())
        greenlane.sleep(5)  # the deferred Timeout is raised here, at once
    assert returned == [1] and virtual_clock.now() == 1
    assert taken == [1] and q.get_nowait() == 2 and q.qsize() == 0


def test_get_handed_an_item_then_timed_out_returns_it(virtual_clock: VirtualClock) -> None:
    q: Queue[str] = Queue()
    _at(virtual_clock, 1, q.put_nowait, "item")
    result: list[str] = []
    with pytest.raises(Timeout), Timeout(1):
        result.append(q.get())
        greenlane.sleep(5)
    assert result == ["item"] and q.qsize() == 0


def test_acquire_granted_then_timed_out_keeps_the_unit(virtual_clock: VirtualClock) -> None:
    sem = Semaphore(0)
    _at(virtual_clock, 1, sem.release)
    with pytest.raises(Timeout), Timeout(1):
        assert sem.acquire()
        greenlane.sleep(5)
    assert sem.counter == 0  # ours: taken exactly once
    sem.release()
    assert sem.counter == 1


def test_lock_handed_over_then_timed_out_is_held(virtual_clock: VirtualClock) -> None:
    lock = Lock()
    lock.acquire()

    def release_at_1() -> None:
        lock.release()  # hands the lock to the parked main thread

    _at(virtual_clock, 1, release_at_1)
    with pytest.raises(Timeout), Timeout(1):
        assert lock.acquire()
        assert lock.locked()
        greenlane.sleep(5)
    assert lock.locked()
    lock.release()
    assert not lock.locked()


def test_event_sent_then_timed_out_returns_the_value(virtual_clock: VirtualClock) -> None:
    ev: Event[int] = Event()
    _at(virtual_clock, 1, ev.send, 7)
    result = []
    with pytest.raises(Timeout), Timeout(1):
        result.append(ev.wait())
        greenlane.sleep(5)
    assert result == [7]


def test_leaving_the_with_block_withdraws_the_deferred_timeout(virtual_clock: VirtualClock) -> None:
    ev: Event[int] = Event()
    _at(virtual_clock, 1, ev.send, 7)
    with Timeout(1):
        assert ev.wait() == 7  # the Timeout expired meanwhile, deferred
    greenlane.sleep(2)  # outside the block: nothing is raised
    assert virtual_clock.now() == 3


def test_a_task_that_ends_forgets_its_deferred_timeout(virtual_clock: VirtualClock) -> None:
    ev: Event[int] = Event()
    _at(virtual_clock, 1, ev.send, 7)

    def never_cancels() -> int:
        Timeout(1)  # expires while the wait below has already succeeded
        return ev.wait()

    assert greenlane.spawn(never_cancels).wait() == 7
    # The next task runs on the same pooled worker greenlet: no stray Timeout there.
    assert greenlane.spawn(lambda: greenlane.sleep(1) or "slept").wait() == "slept"


def test_a_kill_after_acceptance_still_raises_and_the_item_stays(virtual_clock: VirtualClock) -> None:
    # Kills are not deferred: the thread is ending. Its item was accepted, and stays.
    q: Queue[int] = Queue(1)
    q.put(1)
    putter = greenlane.spawn(q.put, 2)
    greenlane.sleep(0)
    assert q.get_nowait() == 1  # accepts 2; the putter is woken, has not run
    putter.kill()
    with pytest.raises(GreenletExit):
        putter.wait()
    assert q.get_nowait() == 2


def test_a_timeout_before_acceptance_is_full_and_nothing_is_kept(virtual_clock: VirtualClock) -> None:
    q: Queue[int] = Queue(1)
    q.put(1)
    with pytest.raises(Full):
        q.put(2, timeout=1)
    assert q.qsize() == 1 and q.get_nowait() == 1 and q.unfinished_tasks == 1
