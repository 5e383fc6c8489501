"""A FIFO of parked green threads: the one building block of every green primitive.

Event, Semaphore, Lock, Queue and GreenThread.wait all reduce to "park in a
WaitQueue until someone unparks me (handing me a value), or my timeout
expires". The hub guarantees each park is woken at most once; this class adds
FIFO order and the cross-thread check. ``wake_one``/``wake_all`` do
``_parking.wake``'s PARKED -> WOKEN transition inline (a call less per
hand-over, the switch benchmark's hot path): keep the two in step.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from ._errors import CrossThreadError, cross_thread_message
from ._parking import WOKEN, Parked, park
from ._stdlib import get_ident

__all__ = ["WaitQueue", "wake_all", "wake_one"]


class WaitQueue:
    """Green threads waiting for one condition, woken first-in first-out."""

    __slots__ = ("_waiters",)

    def __init__(self) -> None:
        self._waiters: deque[Parked] = deque()

    @property
    def records(self) -> deque[Parked]:
        """The parked records, oldest first: pass to ``park(..., queue=...)`` on hot paths."""
        return self._waiters

    def park(
        self,
        timeout: float | None = None,
        reason: str = "wait",
        on_abandon: Callable[[Any], object] | None = None,
    ) -> Any:
        """Wait at the back of the queue; returns the unparker's value or ``TIMED_OUT``.

        ``on_abandon(value)`` is called if this thread is killed after being
        handed ``value`` but before it ran, so the value can go to someone else.
        """
        return park(reason, timeout, self._waiters, on_abandon)

    def unpark_one(self, value: Any = True) -> bool:
        """Wake the longest waiter with ``value``; False if nobody waits."""
        return wake_one(self._waiters, value)

    def unpark_all(self, value: Any = True) -> int:
        """Wake every waiter with ``value``; returns how many."""
        return wake_all(self._waiters, value)

    def __len__(self) -> int:
        return len(self._waiters)

    def __bool__(self) -> bool:
        return bool(self._waiters)

    def reasons(self) -> list[str]:
        """Why each waiter waits, in queue order (for reprs and debugging)."""
        return [rec.reason for rec in self._waiters]

    def __repr__(self) -> str:
        return f"<WaitQueue waiters={len(self._waiters)}>"


def wake_one(waiters: deque[Parked], value: Any = True) -> bool:
    """Wake the longest waiter of ``waiters`` with ``value``; False if nobody waits."""
    if not waiters:
        return False
    rec = waiters[0]
    hub = rec.hub
    if hub.ident != get_ident():
        raise CrossThreadError(cross_thread_message(rec.reason))
    # Invariant (kept by _parking.abort): every record in the queue is PARKED.
    waiters.popleft()
    rec.state = WOKEN  # wake(rec, value), inlined: one call less per hand-over
    rec.value = value
    hub._ready.append(rec)
    return True


def wake_all(waiters: deque[Parked], value: Any = True) -> int:
    """Wake every waiter of ``waiters`` with ``value``, oldest first; returns how many."""
    n = len(waiters)
    if n == 1:  # the common case (an Event's one waiter), without the loop
        rec = waiters[0]
        hub = rec.hub
        if hub.ident != get_ident():
            raise CrossThreadError(cross_thread_message(rec.reason))
        waiters.popleft()
        rec.state = WOKEN
        rec.value = value
        hub._ready.append(rec)
    elif n:
        ident = get_ident()
        popleft = waiters.popleft
        for _ in range(n):
            rec = waiters[0]
            hub = rec.hub
            if hub.ident != ident:
                raise CrossThreadError(cross_thread_message(rec.reason))
            popleft()
            rec.state = WOKEN  # wake(rec, value), inlined
            rec.value = value
            hub._ready.append(rec)
    return n
