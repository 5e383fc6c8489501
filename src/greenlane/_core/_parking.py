"""Parking: the one state machine of a waiting green thread, every transition in this module.

Each greenlet that ever waits owns one ``Parked`` record for its whole life
(a slot on pooled workers, an attribute on other greenlets), reused for every
wait instead of allocated per wait: with thousands of waiting threads, every
object allocated per wait lengthens the garbage collector's passes. The
record's state decides who may wake it, so a thread is woken at most once per
park no matter how many things race to wake it (a value handed by a wake, its
timer, a kill or a ``Timeout``):

    RUNNING --park / park on an fd--> PARKED   (in a queue or an fd table, maybe a timer)
    RUNNING --yield--------> WOKEN      already in the ready queue
    PARKED  --wake---------> WOKEN      value queued for delivery       (``wake``)
    PARKED  --timer--------> TIMED_OUT  ``TIMED_OUT`` queued            (``expire``)
    PARKED  --throw--------> ABORTED    exception queued                (``throw``)
    WOKEN/TIMED_OUT --throw> (same), exception kept in ``pending``
    any     --resumed------> RUNNING                                    (``suspend``)

Who calls what: ``park`` (wait queues, ``Hub.park``) and the I/O manager's
``wait_fd`` file the record where it waits, then call ``suspend``, which
enters PARKED, arms the timer, switches out (to the next ready thread
directly while the pass has budget, else to the hub: it reads the hub's run
queue and budget, the one place outside ``_hub`` that does) and, on
resumption, cancels the timer and delivers what the record was resumed
with. Readiness (the I/O manager) and wait queues call ``wake``; the timer
heap calls ``expire``; ``throw`` aborts. The two hottest callers inline
``suspend``'s untimed hand-off (``park`` for a queue wait, ``yield_current``
for ``sleep(0)``: one Python call less per switch) and fall back to it for
everything else; the three must keep the same rules. Leaving a queue or an fd
table on expiry or abort is ``abort``, the one place that knows both.

A thread killed after it was handed a value but before it ran (the
WOKEN --throw row) raises the exception when it resumes, and the value goes
to the park's ``on_abandon`` so a primitive can pass it to the next waiter: a
wake-up is never lost.

A *soft* throw (``throw(..., soft=True)``, what a ``Timeout`` does) that
finds the thread WOKEN does not undo the wait that already succeeded: the
thread resumes with its value, and the exception waits in ``deferred`` to be
raised at the start of its next wait. So an operation that completed (an item
handed over, a put accepted, a unit granted) is never reported as timed out,
and a caller that retries on ``Timeout`` never does the work twice; the
timeout still interrupts the next wait. ``Timeout.cancel`` withdraws a
deferred exception that is still its own, and a worker forgets one when its
task ends.

Invariants (kept by ``abort`` and the I/O manager's ``discard``): a wait
queue, a reader or writer table and a live timer only ever hold records that
are PARKED; a record is in at most one of them (an fd wait may sit in both
tables of its fd); the hub's ready queue holds records that are WOKEN,
TIMED_OUT or ABORTED, each once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from greenlet import getcurrent as _getcurrent
from greenlet import greenlet

from ._errors import CrossThreadError, cross_thread_message
from ._stdlib import get_ident
from ._threadhub import get_hub
from ._timeouts import check_timeout

if TYPE_CHECKING:
    from ._hub import Hub

__all__ = [
    "TIMED_OUT",
    "Parked",
    "abort",
    "expire",
    "park",
    "record_of",
    "suspend",
    "take_deferred",
    "throw",
    "unpark",
    "wake",
    "withdraw_deferred",
    "yield_current",
    "yield_now",
]

RUNNING: Final = 0
PARKED: Final = 1
WOKEN: Final = 2
TIMED_OUT_STATE: Final = 3
ABORTED: Final = 4
STATE_NAMES: Final = ("running", "parked", "woken", "timed out", "aborted")


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
        return f"<Parked {STATE_NAMES[self.state]} reason={self.reason!r}{where}>"


def record_of(glet: greenlet, hub: Hub) -> Parked:
    """``glet``'s record, created on its first wait (workers get theirs at birth)."""
    rec: Parked | None = getattr(glet, "rec", None)
    if rec is None or rec.hub is not hub:
        if glet is hub.greenlet:
            return hub.record_of_hub_greenlet()  # raises, unless the hub can hand its greenlet over
        rec = glet.rec = Parked(hub, glet)  # type: ignore[attr-defined]
    return rec


def withdraw_deferred(rec: Parked, exc: BaseException) -> None:
    """Drop ``exc`` if a soft throw left it for ``rec``'s next wait and it is not raised yet."""
    if rec.deferred is exc:
        rec.deferred = None


def take_deferred(rec: Parked) -> BaseException:
    """The exception a soft throw left for this wait (raised by the caller, before it parks)."""
    exc = rec.deferred
    assert exc is not None
    rec.deferred = None
    return exc


# -- entering a wait ----------------------------------------------------------


def park(
    reason: str,
    timeout: float | None = None,
    queue: deque[Parked] | None = None,
    on_abandon: Callable[[Any], object] | None = None,
) -> Any:
    """Suspend the calling green thread until woken, thrown into, or timed out.

    Returns the value given to ``wake``, or ``TIMED_OUT``. The record is
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
        rec = record_of(glet, get_hub())
    if rec.deferred is not None:
        raise take_deferred(rec)
    hub = rec.hub
    rec.queue = queue
    rec.on_abandon = on_abandon
    if queue is not None:
        queue.append(rec)
    # The hot case, ``suspend`` inlined (one call less per switch): no timer,
    # and this pass may resume the next ready thread directly (same rules).
    if timeout is not None:
        return suspend(hub, rec, PARKED, reason, timeout)
    if hub._budget > 0:
        hub._budget -= 1
    elif hub._spare > 0 and hub._ready:
        hub._spare -= 1
        hub._switches += 1
    else:
        return suspend(hub, rec, PARKED, reason, None)
    rec.reason = reason
    rec.since = hub._pass_start
    rec.state = PARKED
    nxt = hub._ready.popleft()
    try:
        value = nxt.resume(nxt.value)
    except BaseException:
        _thrown(hub, rec)
        raise
    if rec.pending is not None:
        return _resumed(rec, value)
    rec.value = None  # the hub's copy of what we were handed
    rec.state = RUNNING
    return value


def suspend(hub: Hub, rec: Parked, state: int, reason: str, timeout: float | None) -> Any:
    """Enter ``state`` (PARKED, or WOKEN for a yield) and switch away; return what ``rec`` resumes with.

    The caller has put ``rec`` where it waits (a queue, its fd's tables) and
    set ``queue``/``on_abandon``. This arms the timeout and leaves: to the
    next ready thread directly while the hub's pass has budget for it (direct
    hand-off: see ``Hub.run_pass``, step 4), else to the hub. On the way
    back it cancels the timer, raises a pending exception (handing an
    abandoned value to ``on_abandon``) and leaves the record RUNNING.
    """
    rec.reason = reason
    rec.since = hub._pass_start  # a time the hub already has: no clock read per park
    rec.state = state
    ready = hub._ready
    if state == WOKEN:  # a yield: queued behind the others, and never handed off to itself
        hub._spare = 0
        rec.value = None
        ready.append(rec)
    else:
        if rec.fd >= 0:  # an fd is watched now: no more spare hand-offs this pass
            hub._spare = 0
        if timeout is not None:
            rec.timer = rec.spare = hub._timers.add_reusing(
                rec.spare, hub.clock() + timeout, expire, rec.args
            )
    try:
        if hub._budget > 0:
            hub._budget -= 1
            nxt = ready.popleft()
            value = nxt.resume(nxt.value)
        elif hub._spare > 0 and ready:  # (run_pass leaves no spares while an fd is watched)
            hub._spare -= 1
            hub._switches += 1
            nxt = ready.popleft()
            value = nxt.resume(nxt.value)
        else:
            value = hub.greenlet.switch()
    except BaseException:
        _thrown(hub, rec)
        raise
    if rec.timer is not None:
        hub._timers.cancel(rec.timer)
        rec.timer = None
    if rec.pending is not None:
        return _resumed(rec, value)
    rec.value = None  # the hub's copy of what we were handed
    rec.state = RUNNING
    return value


def _resumed(rec: Parked, value: Any) -> Any:
    """Back with an exception pending: raise it (an abandoned value goes to ``on_abandon``)."""
    rec.value = None
    pending = rec.pending
    assert pending is not None
    rec.pending = None
    if rec.state == WOKEN and rec.on_abandon is not None:
        rec.state = RUNNING
        rec.on_abandon(value)
    rec.state = RUNNING
    raise pending


def _thrown(hub: Hub, rec: Parked) -> None:
    """Thrown into while suspended: by ``throw`` (already ABORTED), or by someone else
    (greenlet's own GreenletExit on collection); leave every table, RUNNING again."""
    if rec.state == PARKED:
        abort(rec)
    rec.state = RUNNING
    rec.resume = rec.switch
    rec.value = None
    rec.pending = None
    if rec.timer is not None:
        hub._timers.cancel(rec.timer)
        rec.timer = None


def yield_now(hub: Hub) -> None:
    """Let every other ready green thread run once, and I/O be polled."""
    glet = _getcurrent()
    if glet is hub.greenlet:
        return
    rec = record_of(glet, hub)
    if rec.deferred is not None:
        raise take_deferred(rec)
    rec.queue = None
    rec.on_abandon = None
    suspend(hub, rec, WOKEN, "sleep(0)", None)


def yield_current() -> None:
    """``yield_now`` for the calling thread's hub, found through its record (``sleep(0)``).

    The hot case, ``suspend`` inlined: a yield inside a pass with budget
    goes straight to the next ready thread.
    """
    glet = _getcurrent()
    try:
        rec: Parked = glet.rec  # type: ignore[attr-defined]
    except AttributeError:
        return yield_now(get_hub())
    hub = rec.hub
    if hub._budget <= 0 or hub.closed or rec.deferred is not None or glet is hub.greenlet:
        return yield_now(hub if not hub.closed else get_hub())
    rec.queue = None
    rec.on_abandon = None
    rec.reason = "sleep(0)"
    rec.since = hub._pass_start
    rec.state = WOKEN
    rec.value = None
    hub._spare = 0
    ready = hub._ready
    ready.append(rec)  # budget > 0: someone else is ahead of it in the queue
    hub._budget -= 1
    nxt = ready.popleft()
    try:
        nxt.resume(nxt.value)
    except BaseException:
        _thrown(hub, rec)
        raise
    if rec.pending is not None:
        _resumed(rec, None)
    rec.value = None
    rec.state = RUNNING
    return None


# -- leaving it -----------------------------------------------------------------


def wake(rec: Parked, value: Any) -> None:
    """PARKED -> WOKEN: queue ``rec`` to resume with ``value`` (already out of its queue or table)."""
    rec.state = WOKEN
    rec.value = value
    rec.hub._ready.append(rec)


def unpark(hub: Hub, rec: Parked, value: Any = None) -> bool:
    """Wake a parked thread with ``value``; False if it was already woken or gone."""
    if rec.state != PARKED:
        return False
    if hub.ident != get_ident():
        raise CrossThreadError(cross_thread_message(rec.reason))
    wake(rec, value)  # a record parked in a queue was taken out of it by the caller
    return True


def expire(rec: Parked) -> None:
    """The timer of ``rec`` fired: PARKED -> TIMED_OUT."""
    rec.timer = None  # fired: nothing to cancel on resumption
    if rec.state == PARKED:
        rec.state = TIMED_OUT_STATE
        abort(rec)
        rec.value = TIMED_OUT
        rec.hub._ready.append(rec)


def abort(rec: Parked) -> None:
    """Take PARKED ``rec`` out of its wait queue or its fd's tables (promoting the next in line)."""
    if rec.queue is not None:
        rec.queue.remove(rec)
    elif rec.fd >= 0:
        rec.hub.io.discard(rec)


def throw(hub: Hub, glet: greenlet, exc: BaseException, *, front: bool = False, soft: bool = False) -> bool:
    """Raise ``exc`` in green thread ``glet`` wherever it waits (the hub delivers it).

    ``soft``: if ``glet`` was already woken from its wait (handed a value
    it has not run with yet), keep that wait's result and raise ``exc`` at
    the start of its next wait instead; returns False then, True otherwise.
    """
    hub.check_thread("throw")
    if not isinstance(exc, BaseException):
        raise TypeError(f"throw() needs an exception instance, not {exc!r}")
    if glet is _getcurrent():
        raise exc
    rec: Parked | None = getattr(glet, "rec", None)
    if rec is not None and rec.hub is not hub:
        raise CrossThreadError(cross_thread_message("throw"))
    if rec is not None and rec.state != RUNNING:
        if rec.state != PARKED:
            if soft and rec.state == WOKEN and rec.pending is None:
                if rec.deferred is None:
                    rec.deferred = exc
                return False
            if rec.pending is None:  # already due to resume: raise on resumption
                rec.pending = exc
            return True
        rec.state = ABORTED
        abort(rec)
    elif glet.dead:
        return True
    else:
        rec = Parked(hub, glet)  # a raw greenlet we never parked: a one-off record
    rec.resume = glet.throw
    rec.value = exc
    if front:
        hub._ready.appendleft(rec)
    else:
        hub._ready.append(rec)
    return True
