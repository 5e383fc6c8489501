"""Parking: the one way a green thread waits, and the one way it is woken.

Each greenlet that ever waits owns one ``Parked`` record for its whole life
(a slot on pooled workers, an attribute on other greenlets), reused for every
wait instead of allocated per wait: with thousands of waiting threads, every
object allocated per wait lengthens the garbage collector's passes. The
record's state decides who may wake it, so a thread is woken at most once per
park no matter how many things race to wake it (a value handed by
``unpark``, its timer, a kill or a ``Timeout``):

    RUNNING --park----> PARKED     (in a queue / an fd table / with a timer)
    PARKED  --unpark--> WOKEN      value queued for delivery
    PARKED  --timer---> TIMED_OUT  ``TIMED_OUT`` queued for delivery
    PARKED  --throw---> ABORTED    exception queued for delivery
    WOKEN/TIMED_OUT --throw--> (same), exception kept in ``pending``
    any     --resumed-> RUNNING

A thread killed after it was handed a value but before it ran (the last
row) raises the exception when it resumes, and the value goes to the park's
``on_abandon`` so a primitive can pass it to the next waiter: a wake-up is
never lost.

A *soft* throw (``Hub.throw(..., soft=True)``, what a ``Timeout`` does) that
finds the thread WOKEN does not undo the wait that already succeeded: the
thread resumes with its value, and the exception waits in ``deferred`` to be
raised at the start of its next wait. So an operation that completed (an item
handed over, a put accepted, a unit granted) is never reported as timed out,
and a caller that retries on ``Timeout`` never does the work twice; the
timeout still interrupts the next wait. ``Timeout.cancel`` withdraws a
deferred exception that is still its own, and a worker forgets one when its
task ends. Invariant (kept by ``Hub._abort``): a wait queue, a reader or
writer table and a live timer only ever hold records that are PARKED.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from greenlet import getcurrent as _getcurrent
from greenlet import greenlet

from ._timeouts import check_timeout

if TYPE_CHECKING:
    from ._hub import Hub

__all__ = ["TIMED_OUT", "Parked", "park", "record_of", "take_deferred"]

RUNNING: Final = 0
PARKED: Final = 1
WOKEN: Final = 2
TIMED_OUT_STATE: Final = 3
ABORTED: Final = 4
_STATE_NAMES: Final = ("running", "parked", "woken", "timed out", "aborted")


class _TimedOut:
    """The value a park returns when its timeout expired (falsy)."""

    __slots__ = ()

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "TIMED_OUT"


TIMED_OUT: Final = _TimedOut()


class Parked:
    """One greenlet's parking record: why it waits now, and how to wake it."""

    __slots__ = (
        "args",
        "deferred",
        "events",
        "fd",
        "glet",
        "hub",
        "on_abandon",
        "pending",
        "queue",
        "reason",
        "resume",
        "since",
        "spare",
        "state",
        "switch",
        "timer",
        "value",
    )

    def __init__(self, hub: Hub, glet: greenlet) -> None:
        self.hub = hub
        self.glet = glet
        self.switch: Callable[[Any], Any] = glet.switch  # bound once, used by every wake
        # A woken record waits in the hub's ready queue itself (no tuple per wake):
        # the hub calls ``rec.resume(rec.value)``; resume is ``switch`` unless a throw.
        self.resume: Callable[[Any], Any] = self.switch
        self.value: Any = None
        self.args = (self,)  # the timer callback's arguments, built once
        self.state = RUNNING
        self.reason = ""
        self.since = 0.0  # the hub's pass-start time (monotonic) when it last parked
        self.queue: deque[Parked] | None = None
        self.on_abandon: Callable[[Any], object] | None = None
        self.pending: BaseException | None = None
        self.deferred: BaseException | None = None  # a soft throw for the next wait
        self.timer: list[Any] | None = None
        self.spare: list[Any] | None = None  # the last timer entry, refilled when free
        self.fd = -1
        self.events = 0

    def __repr__(self) -> str:
        where = f" fd={self.fd}" if self.fd >= 0 else ""
        return f"<Parked {_STATE_NAMES[self.state]} reason={self.reason!r}{where}>"


def record_of(glet: greenlet, hub: Hub) -> Parked:
    """``glet``'s record, created on its first wait (workers get theirs at birth)."""
    rec: Parked | None = getattr(glet, "rec", None)
    if rec is None or rec.hub is not hub:
        if glet is hub.greenlet:
            return hub.record_of_hub_greenlet()  # raises, unless the hub can hand its greenlet over
        rec = glet.rec = Parked(hub, glet)  # type: ignore[attr-defined]
    return rec


def take_deferred(rec: Parked) -> BaseException:
    """The exception a soft throw left for this wait (raised by the caller, before it parks)."""
    exc = rec.deferred
    assert exc is not None
    rec.deferred = None
    return exc


def park(
    reason: str,
    timeout: float | None = None,
    queue: deque[Parked] | None = None,
    on_abandon: Callable[[Any], object] | None = None,
) -> Any:
    """Suspend the calling green thread until unparked, thrown into, or timed out.

    Returns the value given to ``unpark``, or ``TIMED_OUT``. The record is
    appended to ``queue`` (when given) and removed from it on timeout or
    abort, so a queue holds exactly the records still parked.
    """
    # The net under every caller's own check (see _timeouts), before any state
    # changes; a float in range passes without a call (timed waits are hot).
    if timeout is not None and not (timeout.__class__ is float and timeout >= 0.0):
        timeout = check_timeout(timeout)
    glet = _getcurrent()
    try:
        rec: Parked = glet.rec  # type: ignore[attr-defined]
    except AttributeError:
        from ._hub import get_hub

        rec = record_of(glet, get_hub())
    if rec.deferred is not None:
        raise take_deferred(rec)
    hub = rec.hub
    rec.reason = reason
    rec.queue = queue
    rec.on_abandon = on_abandon
    rec.since = hub._pass_start  # a time the hub already has: no clock read per park
    rec.state = PARKED
    if queue is not None:
        queue.append(rec)
    if timeout is not None:
        rec.timer = rec.spare = hub._timers.add_reusing(
            rec.spare, hub.clock() + timeout, hub._expire, rec.args
        )
    return hub._switch_out(rec)
