"""eventlet's semaphores for green threads: ``Semaphore``, ``BoundedSemaphore``, ``CappedSemaphore``.

Waiters are served first-in first-out with no barging: ``release`` hands its
unit straight to the longest waiter instead of bumping the count, so a
thread that calls ``acquire`` later cannot overtake one already waiting. The
invariant that makes the fast path a single check: ``value > 0`` implies that
nobody waits. A waiter killed or timed out after being handed a unit passes it
on (``_pass_on``), so no unit is ever lost.

From another OS thread, ``release`` is handed to the owning hub and
``acquire`` blocks that thread until a green thread of the hub got the unit
for it (see ``greenlane._core._owner``).
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from ._core import TIMED_OUT, Owned, WaitQueue, check_timeout, get_ident, park
from ._native import acquire_from_native

__all__ = ["BoundedSemaphore", "CappedSemaphore", "Semaphore"]


def _check_count(value: Any, what: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # eventlet accepts Semaphore(1e2)
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {value!r}")
    if value < 0:
        raise ValueError(f"{what} must be >= 0, not {value!r}")
    return value


def _check_wait(blocking: bool, timeout: float | None) -> float | None:
    """The park timeout: None and -1 (threading's and eventlet's "forever") wait forever."""
    if timeout is None or timeout == -1:
        return None
    timeout = check_timeout(timeout, "acquire() timeout")
    if timeout < 0:
        raise ValueError(f"acquire() timeout must be non-negative (or -1 or None: forever), not {timeout!r}")
    if not blocking:
        raise ValueError("can't specify a timeout for a non-blocking acquire")
    return timeout


class Semaphore(Owned):
    """A counter of free units: ``acquire`` takes one (waiting while there is none), ``release`` adds one."""

    __slots__ = ("_value", "_waiters")

    def __init__(self, value: int = 1) -> None:
        Owned.__init__(self)
        self._value = _check_count(value, "Semaphore value")
        self._waiters = WaitQueue()

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Take a unit; False if ``blocking`` is False or ``timeout`` passed first."""
        timeout = _check_wait(blocking, timeout)
        if self._owner_ident != get_ident() and self._claim("Semaphore.acquire") is None:
            return acquire_from_native(self, "Semaphore.acquire", blocking, timeout, timeout)
        if self._value > 0:
            self._value -= 1
            return True
        if not blocking:
            return False
        return park("semaphore", timeout, self._waiters.records, self._pass_on) is not TIMED_OUT

    def _try_acquire(self) -> bool:
        if self._value > 0:
            self._value -= 1
            return True
        return False

    def _pass_on(self, _unit: object) -> None:
        self._release()

    def release(self, blocking: bool = True) -> bool:
        """Give a unit back: to the longest waiter, else to the count; True (eventlet's signature)."""
        if self._owner_ident != get_ident() and self._elsewhere(self._release):
            return True
        self._release()
        return True

    def bounded(self) -> bool:
        """True if releasing past the initial value raises (a ``BoundedSemaphore``)."""
        return False

    def _release(self) -> None:
        # Invariant: value > 0 implies nobody is parked.
        if not self._waiters.unpark_one(True):
            self._value += 1

    def locked(self) -> bool:
        """True when an ``acquire`` would have to wait."""
        return self._value <= 0

    @property
    def counter(self) -> int:
        """Free units right now (eventlet's name)."""
        return self._value

    @property
    def balance(self) -> int:
        """Free units minus waiting threads: negative when threads wait (eventlet's name)."""
        return self._value - len(self._waiters)

    def __enter__(self) -> Semaphore:
        self.acquire()
        return self

    def __exit__(
        self, typ: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} value={self._value} waiters={len(self._waiters)}>"


class BoundedSemaphore(Semaphore):
    """A ``Semaphore`` that refuses to be released above its initial value (``ValueError``)."""

    __slots__ = ("_limit",)

    def __init__(self, value: int = 1) -> None:
        super().__init__(value)
        self._limit = value

    def bounded(self) -> bool:
        """True: releasing past the initial value raises ``ValueError``."""
        return True

    def _release(self) -> None:
        if self._value >= self._limit:
            raise ValueError(f"{self!r} released more times than acquired (limit {self._limit})")
        super()._release()


class CappedSemaphore:
    """eventlet's semaphore whose ``release`` waits while the count would pass ``limit``.

    ``count`` free units to start with; ``acquire`` waits at zero and
    ``release`` waits at ``limit``. As in eventlet it is two semaphores, units
    and room, and each call first gives to one side (so a waiting caller of
    the opposite kind can proceed at once, even with a limit of 0) and then
    takes from the other; a call that gives up takes its gift back.
    """

    __slots__ = ("_lower", "_upper")

    def __init__(self, count: int, limit: int) -> None:
        count = _check_count(count, "CappedSemaphore count")
        limit = _check_count(limit, "CappedSemaphore limit")
        if count > limit:
            raise ValueError(f"CappedSemaphore count {count} is above its limit {limit}")
        self._lower = Semaphore(count)
        self._upper = Semaphore(limit - count)

    @staticmethod
    def _give_then_take(give: Semaphore, take: Semaphore, blocking: bool, timeout: float | None) -> bool:
        if not blocking and take.locked():
            return False
        _check_wait(blocking, timeout)  # now: a refusal after the release below would owe a unit
        give.release()
        try:
            got = take.acquire(blocking, timeout)
        except BaseException:
            give._value -= 1  # take the gift back (may owe a unit, as eventlet's does)
            raise
        if not got:
            give._value -= 1
        return got

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Take a unit, waiting while there is none."""
        return self._give_then_take(self._upper, self._lower, blocking, timeout)

    def release(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Add a unit, waiting while the count is at its limit; False if it could not."""
        return self._give_then_take(self._lower, self._upper, blocking, timeout)

    def locked(self) -> bool:
        """True when an ``acquire`` would have to wait."""
        return self._lower.locked()

    def bounded(self) -> bool:
        """True when a ``release`` would have to wait."""
        return self._upper.locked()

    @property
    def balance(self) -> int:
        """eventlet's figure: the units' balance minus the room's balance."""
        return self._lower.balance - self._upper.balance

    @property
    def counter(self) -> int:
        """Free units right now."""
        return self._lower.counter

    def __enter__(self) -> CappedSemaphore:
        self.acquire()
        return self

    def __exit__(
        self, typ: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    def __repr__(self) -> str:
        return (
            f"<CappedSemaphore value={self._lower.counter} limit="
            f"{self._lower.counter + self._upper.counter} waiters={len(self._lower._waiters)}>"
        )
