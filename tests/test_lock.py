"""Lock, RLock and Condition: threading's API and errors, FIFO hand-off, kills, timeouts, other OS threads."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

import pytest
from greenlet import getcurrent as raw_getcurrent

import greenlane
from greenlane import GreenletExit
from greenlane.lock import Condition, Lock, RLock
from greenlane.testing import VirtualClock, wait_until

# Bounds hangs in the cross-thread tests; it does not time anything.
REAL_WAIT_LIMIT = 10.0


def _wait_until(condition: Callable[[], bool]) -> None:
    """Let the hub run, a pass at a time, until ``condition()`` holds."""
    wait_until(condition, patience=REAL_WAIT_LIMIT)


# -- Lock ---------------------------------------------------------------------


def test_lock_uncontended() -> None:
    lock = Lock()
    assert not lock.locked()
    assert lock.acquire() is True
    assert lock.locked()
    lock.release()
    assert not lock.locked()
    assert lock.acquire(True, -1) is True
    lock.release()
    assert lock.acquire(timeout=None) is True  # eventlet's spelling of "forever"
    lock.release()


def test_lock_try_and_zero_timeout_do_not_wait() -> None:
    lock = Lock()
    assert lock.acquire(False) is True
    assert lock.acquire(False) is False
    assert lock.acquire(timeout=0) is False
    assert lock.acquire(blocking=False) is False
    lock.release()
    assert lock.acquire(timeout=0) is True
    lock.release()
    assert greenlane.get_hub().statistics().timers == 0


def test_release_unlocked_lock_raises() -> None:
    lock = Lock()
    with pytest.raises(RuntimeError, match="release unlocked lock"):
        lock.release()
    lock.acquire()
    assert lock.release() is True  # eventlet's Lock.release returns True
    with pytest.raises(RuntimeError, match="release unlocked lock"):
        lock.release()


@pytest.mark.parametrize("lock_type", [Lock, RLock])
@pytest.mark.parametrize(
    ("blocking", "timeout", "message"),
    [
        (False, 1, "non-blocking"),
        (False, 0, "non-blocking"),
        (True, -2, "non-negative"),
        (True, -0.5, "non-negative"),
        (True, math.nan, "must be a number of seconds, not nan"),
    ],
)
def test_acquire_rejects_bad_arguments(
    lock_type: Callable[[], Lock | RLock], blocking: bool, timeout: float, message: str
) -> None:
    lock = lock_type()
    with pytest.raises(ValueError, match=message):
        lock.acquire(blocking, timeout)
    assert not lock.locked()
    lock.acquire()
    with pytest.raises(ValueError, match=message):  # checked before anything else, as threading does
        lock.acquire(blocking, timeout)
    lock.release()
    assert not lock.locked()


def test_lock_timeout_expires_exactly(virtual_clock: VirtualClock) -> None:
    lock = Lock()
    lock.acquire()
    assert lock.acquire(timeout=2.5) is False
    assert virtual_clock.now() == 2.5
    assert len(lock._waiters) == 0
    assert greenlane.get_hub().statistics().timers == 0
    lock.release()
    assert not lock.locked()


def test_lock_waits_forever_until_released(virtual_clock: VirtualClock) -> None:
    lock = Lock()
    lock.acquire()

    def release_later() -> None:
        greenlane.sleep(100)
        lock.release()  # another green thread may release it, as with threading.Lock

    releaser = greenlane.spawn(release_later)
    assert lock.acquire() is True
    assert virtual_clock.now() == 100
    releaser.wait()
    lock.release()


def test_lock_positive_timeout_acquires_when_released_in_time(virtual_clock: VirtualClock) -> None:
    lock = Lock()
    lock.acquire()
    greenlane.spawn_after(3, lock.release)
    assert lock.acquire(timeout=5) is True
    assert virtual_clock.now() == 3
    lock.release()


def test_lock_waiters_are_served_fifo() -> None:
    lock = Lock()
    order: list[int] = []

    def worker(i: int) -> None:
        with lock:
            order.append(i)
            greenlane.sleep(0)

    lock.acquire()
    threads = [greenlane.spawn(worker, i) for i in range(10)]
    greenlane.sleep(0)
    assert len(lock._waiters) == 10
    lock.release()
    for gt in threads:
        gt.wait()
    assert order == list(range(10))
    assert not lock.locked()


def test_release_hands_off_no_barging() -> None:
    lock = Lock()
    order: list[str] = []

    def waiter(name: str) -> None:
        with lock:
            order.append(name)

    lock.acquire()
    first = greenlane.spawn(waiter, "first")
    greenlane.sleep(0)
    lock.release()
    # The lock now belongs to "first", which has not run yet: nobody can take it.
    assert lock.locked()
    assert lock.acquire(False) is False
    late = greenlane.spawn(waiter, "late")
    assert lock.acquire() is True  # queued behind "first" (and "late" has not asked yet)
    order.append("main")
    lock.release()
    first.wait()
    late.wait()
    assert order == ["first", "main", "late"]


def test_killed_waiter_passes_the_hand_off_on() -> None:
    lock = Lock()
    got: list[str] = []

    def waiter(name: str) -> None:
        with lock:
            got.append(name)

    lock.acquire()
    b = greenlane.spawn(waiter, "b")
    c = greenlane.spawn(waiter, "c")
    greenlane.sleep(0)
    lock.release()  # handed to b, which has not run yet
    b.kill()  # b dies before running: the lock must go on to c
    c.wait()
    with pytest.raises(GreenletExit):
        b.wait()
    assert got == ["c"]
    assert not lock.locked()
    assert len(lock._waiters) == 0


def test_killed_parked_waiter_leaves_the_queue() -> None:
    lock = Lock()
    lock.acquire()
    b = greenlane.spawn(lock.acquire)
    greenlane.sleep(0)
    assert len(lock._waiters) == 1
    b.kill()
    assert len(lock._waiters) == 0
    lock.release()
    assert not lock.locked()


def test_killed_last_waiter_unlocks() -> None:
    lock = Lock()
    lock.acquire()
    b = greenlane.spawn(lock.acquire)
    greenlane.sleep(0)
    lock.release()  # handed to b
    b.kill()
    assert not lock.locked()


def test_timed_out_waiter_never_takes_a_later_hand_off(virtual_clock: VirtualClock) -> None:
    lock = Lock()
    lock.acquire()
    impatient = greenlane.spawn(lock.acquire, timeout=1)
    patient = greenlane.spawn(lock.acquire)
    greenlane.sleep(2)
    assert impatient.wait() is False
    assert len(lock._waiters) == 1
    lock.release()
    assert patient.wait() is True
    assert lock.locked()
    lock.release()
    assert not lock.locked()


def test_timeout_racing_a_release_loses_nothing(virtual_clock: VirtualClock) -> None:
    # The waiter's deadline and the release fall on the same instant: whichever
    # wins, either the waiter got the lock or the lock is free again.
    lock = Lock()
    lock.acquire()

    def release_at_one() -> None:
        greenlane.sleep(1)
        lock.release()

    waiter = greenlane.spawn(lock.acquire, timeout=1)
    releaser = greenlane.spawn(release_at_one)
    releaser.wait()
    if waiter.wait():
        assert lock.locked()
        lock.release()
    assert not lock.locked()
    assert len(lock._waiters) == 0


def test_green_timeout_in_a_waiter_leaves_no_trace(virtual_clock: VirtualClock) -> None:
    lock = Lock()
    lock.acquire()

    def waiter() -> str:
        try:
            with greenlane.Timeout(1):
                lock.acquire()
        except greenlane.Timeout:
            return "timed out"
        return "acquired"

    gt = greenlane.spawn(waiter)
    assert gt.wait() == "timed out"
    assert len(lock._waiters) == 0
    lock.release()
    assert not lock.locked()


def test_lock_context_manager() -> None:
    lock = Lock()
    with lock as got:
        assert got is True
        assert lock.locked()
    assert not lock.locked()
    with pytest.raises(KeyError), lock:
        raise KeyError("boom")
    assert not lock.locked()


def test_lock_repr() -> None:
    lock = Lock()
    assert repr(lock) == "<Lock unlocked waiters=0>"
    lock.acquire()
    threads = [greenlane.spawn(lock.acquire) for _ in range(2)]
    greenlane.sleep(0)
    assert repr(lock) == "<Lock locked waiters=2>"
    for gt in threads:
        lock.release()
        assert gt.wait() is True
    lock.release()


def test_lock_at_fork_reinit() -> None:
    lock = Lock()
    lock.acquire()
    lock._at_fork_reinit()
    assert not lock.locked()
    assert lock.acquire(False)
    lock.release()


# -- Lock and other OS threads -------------------------------------------------


def test_native_thread_release_wakes_green_waiter() -> None:
    lock = Lock()
    lock.acquire()
    waiter = greenlane.spawn(lock.acquire)
    greenlane.sleep(0)  # the waiter parks: the lock now belongs to this hub
    hub = greenlane.get_hub()
    hub.hold_external()
    thread = threading.Thread(target=lock.release)
    thread.start()
    try:
        assert waiter.wait() is True
    finally:
        hub.release_external()
        thread.join(REAL_WAIT_LIMIT)
    assert lock.locked()  # now held by the waiter
    lock.release()
    assert not lock.locked()


def test_native_thread_release_of_unlocked_lock_raises_there() -> None:
    errors: list[BaseException] = []

    def release(lock: Lock) -> None:
        try:
            lock.release()
        except RuntimeError as exc:
            errors.append(exc)

    fresh = Lock()  # owned by nobody yet
    owned = Lock()
    owned.acquire()
    owned.release()  # owned by this hub, unlocked
    for lock in (fresh, owned):
        thread = threading.Thread(target=release, args=(lock,))
        thread.start()
        thread.join(REAL_WAIT_LIMIT)
    assert [str(exc) for exc in errors] == ["release unlocked lock"] * 2


def test_native_thread_acquires_a_green_lock() -> None:
    lock = Lock()
    lock.acquire()  # this hub owns the lock
    hub = greenlane.get_hub()
    hub.hold_external()
    got: list[bool] = []

    def native() -> None:
        try:
            got.append(lock.acquire())
            lock.release()
            got.append(lock.acquire(False))
            lock.release()
        finally:
            hub.release_external()

    thread = threading.Thread(target=native)
    thread.start()
    _wait_until(lambda: len(lock._waiters) == 1)  # a green thread waits on its behalf
    lock.release()
    _wait_until(lambda: len(got) == 2 and not lock.locked())
    thread.join(REAL_WAIT_LIMIT)
    assert got == [True, True]


def test_green_thread_of_another_hub_cannot_wait_on_the_lock() -> None:
    lock = Lock()
    lock.acquire()
    errors: list[BaseException] = []

    def other_hub_thread() -> None:
        try:
            greenlane.spawn(lock.acquire).wait()
        except greenlane.CrossThreadError as exc:
            errors.append(exc)

    thread = threading.Thread(target=other_hub_thread)
    thread.start()
    thread.join(REAL_WAIT_LIMIT)
    assert errors and "share a hub" in str(errors[0])
    lock.release()


# -- RLock --------------------------------------------------------------------


def test_rlock_is_reentrant() -> None:
    lock = RLock()
    assert not lock.locked()
    assert lock.acquire() and lock.acquire() and lock.acquire(False) and lock.acquire(timeout=1)
    assert lock._recursion_count() == 4
    assert lock._is_owned()
    for left in (3, 2, 1):
        lock.release()
        assert lock.locked() and lock._recursion_count() == left
    lock.release()
    assert not lock.locked() and not lock._is_owned()
    assert lock._recursion_count() == 0
    assert greenlane.get_hub().statistics().timers == 0


def test_rlock_release_by_non_owner_raises() -> None:
    lock = RLock()
    with pytest.raises(RuntimeError, match="cannot release un-acquired lock"):
        lock.release()
    lock.acquire()
    other = greenlane.spawn(lock.release)
    with pytest.raises(RuntimeError, match="cannot release un-acquired lock"):
        other.wait()
    assert lock._recursion_count() == 1
    lock.release()


def test_rlock_belongs_to_the_green_thread_not_its_worker() -> None:
    lock = RLock()
    glets: list[Any] = []

    def take() -> None:
        glets.append(raw_getcurrent())
        lock.acquire()

    def give_back() -> None:
        glets.append(raw_getcurrent())
        lock.release()

    greenlane.spawn(take).wait()
    second = greenlane.spawn(give_back)
    with pytest.raises(RuntimeError, match="un-acquired"):
        second.wait()
    assert glets[0] is glets[1]  # the same pooled worker ran both tasks
    assert lock.locked()
    assert not lock._is_owned()
    lock._at_fork_reinit()
    assert not lock.locked()


def test_rlock_waiters_fifo_and_timeouts(virtual_clock: VirtualClock) -> None:
    lock = RLock()
    order: list[int] = []

    def worker(i: int) -> None:
        with lock, lock:
            order.append(i)
            greenlane.sleep(1)

    lock.acquire()
    threads = [greenlane.spawn(worker, i) for i in range(3)]
    late = greenlane.spawn(lock.acquire, timeout=0.5)
    greenlane.sleep(0)
    assert late.wait() is False
    assert virtual_clock.now() == 0.5
    lock.release()
    for gt in threads:
        gt.wait()
    assert order == [0, 1, 2]
    assert virtual_clock.now() == 3.5
    assert not lock.locked()


def test_rlock_killed_waiter_passes_the_hand_off_on() -> None:
    lock = RLock()
    got: list[str] = []

    def waiter(name: str) -> None:
        with lock:
            got.append(name)

    lock.acquire()
    b = greenlane.spawn(waiter, "b")
    c = greenlane.spawn(waiter, "c")
    greenlane.sleep(0)
    lock.release()
    b.kill()
    c.wait()
    assert got == ["c"]
    assert not lock.locked()


def test_rlock_release_save_and_acquire_restore() -> None:
    lock = RLock()
    with pytest.raises(RuntimeError, match="un-acquired"):
        lock._release_save()
    lock.acquire()
    lock.acquire()
    state = lock._release_save()
    assert not lock.locked()
    other = greenlane.spawn(lambda: lock.acquire(False) and lock.release())
    other.wait()
    lock._acquire_restore(state)
    assert lock._recursion_count() == 2
    lock.release()
    lock.release()
    assert not lock.locked()


def test_rlock_repr() -> None:
    lock = RLock()
    assert repr(lock) == "<RLock owner=None count=0 waiters=0>"
    lock.acquire()
    lock.acquire()
    waiter = greenlane.spawn(lock.acquire)
    greenlane.sleep(0)
    me = greenlane.getcurrent()
    assert repr(lock) == f"<RLock owner={me!r} count=2 waiters=1>"
    lock.release()
    lock.release()
    assert waiter.wait() is True
    assert repr(lock) == f"<RLock owner={waiter!r} count=1 waiters=0>"
    lock._at_fork_reinit()


# -- Condition ----------------------------------------------------------------


@pytest.mark.parametrize("lock_type", [None, Lock, RLock])
def test_condition_needs_the_lock(lock_type: Callable[[], Lock | RLock] | None) -> None:
    cond = Condition(None if lock_type is None else lock_type())
    with pytest.raises(RuntimeError, match="cannot wait on un-acquired lock"):
        cond.wait()
    with pytest.raises(RuntimeError, match="cannot wait on un-acquired lock"):
        cond.wait_for(lambda: False)
    with pytest.raises(RuntimeError, match="cannot notify on un-acquired lock"):
        cond.notify()
    with pytest.raises(RuntimeError, match="cannot notify on un-acquired lock"):
        cond.notify_all()


def test_condition_over_rlock_needs_the_lock_held_by_the_caller() -> None:
    cond = Condition()
    cond.acquire()
    other = greenlane.spawn(cond.notify)
    with pytest.raises(RuntimeError, match="un-acquired"):
        other.wait()
    cond.release()


@pytest.mark.parametrize("lock_type", [None, Lock, RLock])
def test_condition_wakes_waiters_fifo(lock_type: Callable[[], Lock | RLock] | None) -> None:
    cond = Condition(None if lock_type is None else lock_type())
    woke: list[int] = []

    def waiter(i: int) -> bool:
        with cond:
            notified = cond.wait()
            woke.append(i)
            return notified

    threads = [greenlane.spawn(waiter, i) for i in range(6)]
    greenlane.sleep(0)
    assert repr(cond) == "<Condition waiters=6>"
    with cond:
        cond.notify()
    greenlane.sleep(0)
    assert woke == [0]
    with cond:
        cond.notify(2)
    greenlane.sleep(0)
    assert woke == [0, 1, 2]
    with cond:
        cond.notify_all()
    assert [gt.wait() for gt in threads] == [True] * 6
    assert woke == list(range(6))
    with cond:
        cond.notify(5)  # nobody waits: nothing happens
        cond.notifyAll()
    assert repr(cond) == "<Condition waiters=0>"


def test_condition_wait_timeouts(virtual_clock: VirtualClock) -> None:
    cond = Condition(Lock())
    with cond:
        assert cond.wait(0) is False
        assert cond.wait(-1) is False  # threading: a timeout <= 0 does not wait
        assert virtual_clock.now() == 0
        assert cond.wait(2.5) is False
        assert virtual_clock.now() == 2.5
        assert cond._is_owned()  # held again after a timeout
    assert greenlane.get_hub().statistics().timers == 0


def test_condition_wait_releases_the_lock_while_waiting() -> None:
    lock = RLock()
    cond = Condition(lock)
    counts: list[int] = []

    def waiter() -> None:
        with cond, cond:
            cond.wait()
            counts.append(lock._recursion_count())

    gt = greenlane.spawn(waiter)
    greenlane.sleep(0)
    assert not lock.locked()  # released completely, though held twice
    with cond:
        cond.notify()
        greenlane.sleep(0)
        assert counts == []  # notified, but the lock is still ours
    gt.wait()
    assert counts == [2]
    assert not lock.locked()


def test_timed_out_waiter_is_not_notified(virtual_clock: VirtualClock) -> None:
    cond = Condition()

    def waiter(timeout: float | None) -> bool:
        with cond:
            return cond.wait(timeout)

    impatient = greenlane.spawn(waiter, 1)
    patient = greenlane.spawn(waiter, None)
    greenlane.sleep(2)
    with cond:
        cond.notify()
    assert impatient.wait() is False
    assert patient.wait() is True


def test_killed_notified_waiter_passes_the_notification_on() -> None:
    lock = Lock()
    cond = Condition(lock)
    woke: list[str] = []

    def waiter(name: str) -> None:
        with cond:
            cond.wait()
            woke.append(name)

    a = greenlane.spawn(waiter, "a")
    b = greenlane.spawn(waiter, "b")
    greenlane.sleep(0)
    with cond:
        cond.notify()  # for a, which has not run yet
        a.kill()  # a dies: b gets the notification instead
    b.wait()
    with pytest.raises(GreenletExit):
        a.wait()
    assert woke == ["b"]
    assert not lock.locked()
    assert len(cond._waiters) == 0


def test_killed_waiter_reacquires_before_leaving() -> None:
    lock = Lock()
    cond = Condition(lock)
    held_on_exit: list[bool] = []

    def waiter() -> None:
        with cond:
            try:
                cond.wait()
            finally:
                held_on_exit.append(lock.locked())

    gt = greenlane.spawn(waiter)
    greenlane.sleep(0)
    gt.kill()
    assert held_on_exit == [True]
    assert not lock.locked()
    assert len(cond._waiters) == 0


def test_wait_for_checks_first_and_returns_the_predicate_value(virtual_clock: VirtualClock) -> None:
    cond = Condition()
    items: list[int] = []
    with cond:
        assert cond.wait_for(lambda: "ready") == "ready"  # true already: no wait
        assert virtual_clock.now() == 0

    def producer() -> None:
        for i in range(3):
            greenlane.sleep(1)
            with cond:
                items.append(i)
                cond.notify_all()

    gt = greenlane.spawn(producer)
    with cond:
        assert cond.wait_for(lambda: items[2:], timeout=10) == [2]
    assert virtual_clock.now() == 3
    gt.wait()


def test_wait_for_times_out_at_the_deadline(virtual_clock: VirtualClock) -> None:
    cond = Condition()
    checks: list[float] = []

    def never() -> bool:
        checks.append(virtual_clock.now())
        return False

    def pinger() -> None:
        for _ in range(5):
            greenlane.sleep(1)
            with cond:
                cond.notify_all()

    gt = greenlane.spawn(pinger)
    with cond:
        assert cond.wait_for(never, timeout=3.5) is False
    assert virtual_clock.now() == 3.5
    assert checks == [0, 1, 2, 3, 3.5]
    with cond:
        assert cond.wait_for(never, timeout=0) is False
    assert virtual_clock.now() == 3.5
    gt.wait()


def test_condition_over_a_lock_without_locked() -> None:
    class Bare:
        """Only acquire and release: Condition falls back to trying the lock."""

        def __init__(self) -> None:
            self.inner = Lock()

        def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
            return self.inner.acquire(blocking, timeout)

        def release(self) -> None:
            self.inner.release()

    cond = Condition(Bare())
    with pytest.raises(RuntimeError, match="un-acquired"):
        cond.notify()
    gt = greenlane.spawn(lambda: cond.acquire() and cond.wait())
    greenlane.sleep(0)
    with cond:
        cond.notify()
    assert gt.wait() is True
    cond.release()


def test_native_thread_waits_on_and_notifies_a_green_condition() -> None:
    cond = Condition()
    hub = greenlane.get_hub()
    ready: list[int] = []
    results: list[object] = []

    def green_waiter() -> bool:
        with cond:
            return cond.wait_for(lambda: ready)

    gt = greenlane.spawn(green_waiter)
    greenlane.sleep(0)  # the condition now belongs to this hub
    hub.hold_external()

    def native() -> None:
        try:
            with cond:
                results.append(cond.wait(REAL_WAIT_LIMIT))  # woken by the green notify below
                ready.append(1)
                cond.notify_all()  # routed to the hub
        finally:
            hub.release_external()

    thread = threading.Thread(target=native)
    thread.start()
    _wait_until(lambda: len(cond._waiters) == 2)
    with cond:
        cond.notify()  # the green waiter came first: it wakes, sees nothing, waits again
    _wait_until(lambda: len(cond._waiters) == 2)
    with cond:
        cond.notify()  # now the native thread's wait
    assert gt.wait() == [1]
    thread.join(REAL_WAIT_LIMIT)
    assert results == [True]
    assert not cond._lock.locked()  # type: ignore[attr-defined]
