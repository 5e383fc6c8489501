"""Locks for green threads with ``threading``'s names and rules: ``Lock``, ``RLock``, ``Condition``.

``Lock`` is a ``Semaphore`` of one with ``threading``'s surface, built the same
way (see ``greenlane.semaphore``): waiters are served first-in first-out with
no barging. ``release`` does not unlock while someone waits; it hands the lock,
still locked, straight to the longest waiter, so a thread calling ``acquire``
a moment later cannot overtake it. The invariant that keeps the fast path to
one check: *unlocked implies nobody waits*. A waiter killed (or hit by a
``Timeout``) after being handed the lock but before it ran passes it on
through the park's ``on_abandon``; one whose own timeout expired was already
out of the queue and is never handed anything. Either way no hand-off is lost.

``RLock`` is a ``Lock`` plus the green thread holding it
(``greenlane.getcurrent()``: the ``GreenThread``, not the pooled worker
greenlet under it) and a count, exactly like ``threading.RLock``; it offers
``threading``'s private ``_is_owned``/``_release_save``/``_acquire_restore``
so ``Condition`` treats both alike.

``Condition`` parks its waiters in its own FIFO queue after releasing the lock,
and re-acquires the lock (FIFO again) before ``wait`` returns, even when the
wait ends by an exception, as ``threading`` does. A waiter woken by
``notify`` and killed before it ran passes the notification to the next waiter.

Other OS threads (``greenlane._core._owner``): like ``threading.Lock``, a
``Lock`` may be released by a thread other than the one that acquired it,
native (hub-less) threads included; the release runs in the owning hub's
thread. A native thread may also ``acquire`` (and so hold an ``RLock``, or
``wait``/``notify`` a ``Condition``): a green thread of the owning hub does the
wait for it while it blocks on a real lock. One caveat follows from routing:
a release from another thread returns before it took effect, so releasing an
unlocked ``Lock`` twice in a race is reported by the hub's logger, not raised.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, Protocol

from ._core import TIMED_OUT, Owned, WaitQueue, check_timeout, current, current_hub, get_ident, park
from ._native import acquire_from_native, wait_from_native

__all__ = ["Condition", "Lock", "RLock"]


class _Everyone:
    """What ``notify_all`` hands its waiters (truthy, like ``notify``'s True)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "EVERYONE"


_EVERYONE: Any = _Everyone()


def _wait_time(blocking: bool, timeout: float | None) -> float | None:
    """How long an ``acquire`` may park (None: forever), checked the way ``threading`` checks it.

    ``-1`` (threading's default) and ``None`` (eventlet's) both mean forever.
    """
    if timeout is None or timeout == -1:
        return None
    timeout = check_timeout(timeout, "acquire() timeout")
    if timeout < 0:
        raise ValueError(f"acquire() timeout must be non-negative (or -1 or None: forever), not {timeout!r}")
    if not blocking:
        raise ValueError("can't specify a timeout for a non-blocking call")
    return timeout


class Lock(Owned):
    """A mutual-exclusion lock for green threads: ``threading.Lock``'s API, FIFO and hand-off.

    Any thread may release it, not only the one that acquired it (as with
    ``threading.Lock``); releasing it while unlocked raises ``RuntimeError``.
    """

    __slots__ = ("_locked", "_queue", "_waiters")

    def __init__(self) -> None:
        Owned.__init__(self)
        self._locked = False
        self._waiters = WaitQueue()
        self._queue = self._waiters.records  # the parked records themselves, for the hot paths

    def acquire(self, blocking: bool = True, timeout: float | None = -1) -> bool:
        """Take the lock; False if ``blocking`` is False or ``timeout`` seconds passed first.

        ``timeout`` -1 or None waits forever; 0 only tries, like ``blocking=False``.
        """
        wait = None if timeout == -1 else _wait_time(blocking, timeout)
        if self._owner_ident != get_ident() and self._claim("Lock.acquire") is None:
            return acquire_from_native(self, "Lock.acquire", blocking, timeout, wait)
        # Invariant: unlocked implies nobody is parked, so this cannot barge.
        if not self._locked:
            self._locked = True
            return True
        if not blocking or wait == 0:
            return False
        return park("lock", wait, self._queue, self._pass_on) is not TIMED_OUT

    def _try_acquire(self) -> bool:
        if self._locked:
            return False
        self._locked = True
        return True

    def _pass_on(self, _handed: object) -> None:
        # A waiter handed the lock died before it ran: the lock goes on, never lost.
        self._release()

    def release(self, blocking: bool = True) -> bool:
        """Unlock, or hand the lock to the longest waiter; ``RuntimeError`` if it is not locked.

        Returns True, and ignores ``blocking``: eventlet's ``Lock.release`` signature.
        """
        if self._owner_ident != get_ident():
            if not self._locked:
                raise RuntimeError("release unlocked lock")
            if self._elsewhere(self._release):
                return True
        # _release(), inlined: this is the hot path.
        if not self._locked:
            raise RuntimeError("release unlocked lock")
        if self._queue:
            self._waiters.unpark_one(True)
        else:
            self._locked = False
        return True

    def _release(self) -> None:
        if not self._locked:
            raise RuntimeError("release unlocked lock")
        # Hand-off: the lock stays locked and now belongs to the first waiter.
        if self._queue:
            self._waiters.unpark_one(True)
        else:
            self._locked = False

    def locked(self) -> bool:
        """True while someone holds the lock."""
        return self._locked

    def _at_fork_reinit(self) -> None:
        """In a forked child: unlocked, no waiters, no owner (``threading``'s fork hook)."""
        Lock.__init__(self)

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(
        self, typ: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    def __repr__(self) -> str:
        state = "locked" if self._locked else "unlocked"
        return f"<{type(self).__name__} {state} waiters={len(self._waiters)}>"


class RLock:
    """A re-entrant lock held by one green thread, which may acquire it again (``threading.RLock``).

    Only the holder may release it, once per acquire; then it passes FIFO to
    the next waiter like a ``Lock``.
    """

    __slots__ = ("_block", "_count", "_holder")

    def __init__(self) -> None:
        self._block = Lock()
        self._holder: Any = None
        self._count = 0

    def acquire(self, blocking: bool = True, timeout: float | None = -1) -> bool:
        """Take the lock, or count one more hold if this green thread has it already."""
        me = current()
        if self._holder is me:
            if timeout != -1:
                _wait_time(blocking, timeout)
            self._count += 1
            return True
        block = self._block
        if timeout == -1 and block._owner_ident == get_ident() and not block._locked:
            block._locked = True  # Lock.acquire's fast path, inlined
        elif not block.acquire(blocking, timeout):
            return False
        self._holder = me
        self._count = 1
        return True

    def release(self) -> None:
        """Undo one ``acquire``; the last one unlocks. ``RuntimeError`` if the caller does not hold it."""
        if self._holder is not current():
            raise RuntimeError("cannot release un-acquired lock")
        self._count -= 1
        if not self._count:
            self._holder = None
            block = self._block
            if block._owner_ident == get_ident():
                block._release()  # Lock.release's fast path, inlined
            else:
                block.release()

    def locked(self) -> bool:
        """True while some green thread holds the lock."""
        return self._count > 0

    def _is_owned(self) -> bool:
        return self._holder is current()

    def _recursion_count(self) -> int:
        return self._count if self._holder is current() else 0

    def _release_save(self) -> tuple[int, Any]:
        """Release completely, whatever the count; returns what ``_acquire_restore`` needs."""
        if not self._count:
            raise RuntimeError("cannot release un-acquired lock")
        state = (self._count, self._holder)
        self._holder = None
        self._count = 0
        self._block.release()
        return state

    def _acquire_restore(self, state: tuple[int, Any]) -> None:
        """Re-acquire after ``_release_save``, restoring its holder and count."""
        self._block.acquire()
        self._count, self._holder = state

    def _at_fork_reinit(self) -> None:
        """In a forked child: unlocked, no holder, no waiters."""
        self._block._at_fork_reinit()
        self._holder = None
        self._count = 0

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(
        self, typ: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} owner={self._holder!r} count={self._count} "
            f"waiters={len(self._block._waiters)}>"
        )


class _LockLike(Protocol):
    def acquire(self, blocking: bool = ..., timeout: float = ...) -> bool: ...
    def release(self) -> None: ...


class Condition(Owned):
    """Green threads wait until notified, each holding ``lock`` (default a new ``RLock``) around it.

    ``threading.Condition``'s API: ``acquire``/``release`` and the ``with``
    statement are the lock's; ``wait``, ``wait_for``, ``notify`` and
    ``notify_all`` need the lock held. Waiters are woken in the order they
    started waiting.
    """

    __slots__ = (
        "_acquire_restore",
        "_is_owned",
        "_lock",
        "_release_save",
        "_waiters",
        "acquire",
        "release",
    )

    def __init__(self, lock: _LockLike | None = None) -> None:
        Owned.__init__(self)
        if lock is None:
            lock = RLock()
        self._lock = lock
        self._waiters = WaitQueue()
        self.acquire: Callable[..., bool] = lock.acquire
        self.release: Callable[[], None] = lock.release
        # threading's protocol: a lock that knows its holder (RLock) says so;
        # for a plain lock, "locked by anyone" has to do, as in threading.
        self._is_owned: Callable[[], bool] = getattr(lock, "_is_owned", None) or _owned_by_anyone(lock)
        self._release_save: Callable[[], Any] = getattr(lock, "_release_save", None) or lock.release
        restore = getattr(lock, "_acquire_restore", None)
        self._acquire_restore: Callable[[Any], object] = restore or (lambda _state: lock.acquire())

    def wait(self, timeout: float | None = None) -> bool:
        """Release the lock, wait to be notified, re-acquire the lock; False if ``timeout`` passed first.

        A ``timeout`` of 0 or less does not wait (the lock is still released
        and re-acquired, as in ``threading``).
        """
        if timeout is not None:
            timeout = check_timeout(timeout, "Condition.wait() timeout")
        if not self._is_owned():
            raise RuntimeError("cannot wait on un-acquired lock")
        if self._owner_ident != get_ident() and self._claim("Condition.wait") is None:
            return wait_from_native(self._owner, "Condition.wait", lambda: self._wait(timeout), None)
        return self._wait(timeout)

    def _wait(self, timeout: float | None) -> bool:
        saved = self._release_save()
        notified = False
        try:
            # No switch between the release above and this park: a notify
            # that needs the lock cannot slip in before we are queued.
            if timeout is None or timeout > 0:
                notified = park("condition", timeout, self._waiters.records, self._pass_on) is not TIMED_OUT
        finally:
            self._acquire_restore(saved)
        return notified

    def _pass_on(self, handed: object) -> None:
        # A waiter notified by notify(n) and killed before it ran: the next one gets
        # the notification. (After notify_all there is nobody it was meant for.)
        if handed is not _EVERYONE:
            self._waiters.unpark_one(True)

    def wait_for(self, predicate: Callable[[], Any], timeout: float | None = None) -> Any:
        """Wait until ``predicate()`` is true (checked with the lock held); returns its last value.

        With a ``timeout``, gives up after that many seconds in all and
        returns the predicate's (false) value then.
        """
        if timeout is not None:
            timeout = check_timeout(timeout, "Condition.wait_for() timeout")
        endtime: float | None = None
        waittime = timeout
        result = predicate()
        while not result:
            if waittime is not None:
                # The owning hub's clock: the one wait()'s timeout runs on (a virtual one in tests).
                clock = (self._owner or current_hub()).clock
                if endtime is None:
                    endtime = clock() + waittime
                else:
                    waittime = endtime - clock()
                    if waittime <= 0:
                        break
            self.wait(waittime)
            result = predicate()
        return result

    def notify(self, n: int = 1) -> None:
        """Wake the ``n`` longest waiters (fewer if fewer wait)."""
        if not self._is_owned():
            raise RuntimeError("cannot notify on un-acquired lock")
        if self._owner_ident != get_ident() and self._elsewhere(self._notify, n):
            return
        self._notify(n)

    def _notify(self, n: int) -> None:
        unpark = self._waiters.unpark_one
        for _ in range(n):
            if not unpark(True):
                break

    def notify_all(self) -> None:
        """Wake every waiter."""
        if not self._is_owned():
            raise RuntimeError("cannot notify on un-acquired lock")
        if self._owner_ident != get_ident() and self._elsewhere(self._notify_all):
            return
        self._notify_all()

    notifyAll = notify_all  # threading's (and eventlet's) old name

    def _notify_all(self) -> None:
        self._waiters.unpark_all(_EVERYONE)

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(
        self, typ: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"<Condition waiters={len(self._waiters)}>"


def _owned_by_anyone(lock: _LockLike) -> Callable[[], bool]:
    """``_is_owned`` for a lock that does not know its holder: locked counts as owned."""
    locked: Callable[[], bool] | None = getattr(lock, "locked", None)
    if locked is not None:
        return locked

    def is_owned() -> bool:
        if lock.acquire(False):
            lock.release()
            return False
        return True

    return is_owned
