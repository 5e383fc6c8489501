"""eventlet's hub methods: fd listeners (``add``/``remove``), ``switch``, ``abort`` and debug knobs.

Code written against eventlet's hub (its ``green.zmq`` and ``green.select``,
and libraries copied from them) talks to the hub in eventlet's terms:
``listener = hub.add(READ, fd, cb, tb, mark_as_closed)`` asks for ``cb(fd)``
each time ``fd`` is ready, until ``hub.remove(listener)``; ``hub.switch()``
suspends the caller until somebody switches back to it. This module answers
those calls with greenlane's own machinery, so nothing here touches the loop:

* A listener is a ``Task`` (a green thread on a pooled worker) that waits on
  the fd through ``wait_fd`` and calls ``cb`` each time it is woken; the hub
  runs it like any other green thread. ``remove`` stops it.
* ``hub.switch()`` parks the caller (reason ``SWITCH_REASON``). eventlet's
  callers hand the hub their greenlet's own ``switch`` and ``throw`` as the
  listener's ``cb`` and ``tb``; nothing outside ``_core`` may switch
  greenlets, so a listener given those calls ``unpark`` and ``throw`` on the
  greenlet instead: the wake-up goes through the hub like every other.
* ``abort()`` cannot stop greenlane's loop (green threads run inside it); it
  wakes the main green thread if it waits in ``hub.switch()`` and marks the
  hub as not ``running`` until the next ``switch()``, which is what callers of
  eventlet's ``abort`` observe.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from greenlet import GreenletExit, greenlet
from greenlet import getcurrent as _getcurrent
from greenlet import greenlet as _greenlet_type

from . import _pollers
from ._parking import PARKED, Parked, park
from ._timers import Timer, TimerHeap

if TYPE_CHECKING:
    from ._hub import Task

__all__ = ["EVTYPE_READ", "EVTYPE_WRITE", "SWITCH_REASON", "EventletHubAPI"]

log = logging.getLogger("greenlane.hub")

# eventlet's names for the two directions (its ``hubs.hub.READ`` and ``WRITE``).
EVTYPE_READ: Final = "read"
EVTYPE_WRITE: Final = "write"
_EVENTS: Final = {EVTYPE_READ: _pollers.READ, EVTYPE_WRITE: _pollers.WRITE}

# The park reason of ``hub.switch()``: only a thread parked with it is woken by a listener.
SWITCH_REASON: Final = "hub.switch()"

# eventlet's hub sleeps at most this long when nothing is scheduled (``default_sleep``).
EVENTLET_DEFAULT_SLEEP: Final = 60.0


class Removed(GreenletExit):
    """Thrown into a listener's green thread by ``remove``: it ends quietly."""


def _bound_greenlet(fn: Callable[..., Any], name: str) -> greenlet | None:
    """The greenlet if ``fn`` is that greenlet's own bound ``name`` method (``switch``, ``throw``)."""
    owner = getattr(fn, "__self__", None)
    if isinstance(owner, greenlet) and getattr(fn, "__name__", "") == name:
        return owner
    return None


def _call_with_kwargs(callback: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    callback(*args, **kwargs)


def _call_if_alive(
    owner: Any, callback: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    state = getattr(owner, "_state", None)
    alive = state != 2 if state is not None else not owner.dead  # Task.DONE
    if alive:
        callback(*args, **kwargs)


class EventletHubAPI:
    """eventlet's hub calls (a mixin of ``Hub``; it supplies the fields below)."""

    debug_exceptions: bool
    _aborted: bool = False

    greenlet: _greenlet_type
    root: _greenlet_type
    _timers: TimerHeap
    io: Any
    if TYPE_CHECKING:
        start_task: Callable[[Task], None]
        call_later: Callable[..., Timer]
        unpark: Callable[..., bool]
        throw: Callable[..., Any]
        yield_now: Callable[[], None]
        notify_close: Callable[[int], None]

    # -- timers ----------------------------------------------------------------

    def schedule_call_global(
        self, seconds: float, callback: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> Timer:
        """eventlet's name: ``callback(*args, **kwargs)`` after ``seconds``, whatever happens meanwhile."""
        if kwargs:
            return self.call_later(seconds, _call_with_kwargs, callback, args, kwargs)
        return self.call_later(seconds, callback, *args)

    def schedule_call_local(
        self, seconds: float, callback: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> Timer:
        """eventlet's name: as ``schedule_call_global``, skipped if the calling thread has ended."""
        glet = _getcurrent()
        owner = getattr(glet, "task", None) or glet
        return self.call_later(seconds, _call_if_alive, owner, callback, args, kwargs)

    # -- switching -------------------------------------------------------------

    def switch(self) -> Any:
        """eventlet's: suspend the calling green thread until something wakes it.

        A listener whose ``cb`` is this greenlet's ``switch`` (eventlet's
        ``trampoline`` pattern), ``throw``/``kill``, a ``Timeout`` or
        ``abort()`` (for the main green thread) wake it; returns the value it
        was woken with.
        """
        self._aborted = False
        return park(SWITCH_REASON)

    def abort(self, wait: bool = False) -> None:
        """eventlet's: stop the loop. Here: wake the main green thread if it waits in ``switch()``.

        greenlane's loop cannot stop while green threads live inside it;
        ``running`` reads False until the next ``switch()``. ``wait=True``
        lets every ready green thread run once first.
        """
        self._aborted = True
        rec: Parked | None = getattr(self.root, "rec", None)
        if rec is not None and rec.state == PARKED and rec.reason == SWITCH_REASON:
            self.unpark(rec)
        if wait:
            if _getcurrent() is self.greenlet:
                raise RuntimeError("abort(wait=True) cannot wait from inside the hub's greenlet")
            self.yield_now()

    @property
    def running(self) -> bool:
        """eventlet's: whether the loop has started and not been ``abort``-ed since the last ``switch()``."""
        return bool(self.greenlet) and not self._aborted

    def default_sleep(self) -> float:
        """eventlet's longest idle sleep; greenlane's hub sleeps until its next timer or I/O instead."""
        return EVENTLET_DEFAULT_SLEEP

    # -- listeners -------------------------------------------------------------

    def add(
        self,
        evtype: str,
        fileno: int,
        cb: Callable[[int], object],
        tb: Callable[[BaseException], object],
        mark_as_closed: Callable[[], object] | None = None,
    ) -> Any:
        """eventlet's: call ``cb(fileno)`` each time ``fileno`` is ready for ``evtype``, until ``remove``.

        ``evtype`` is ``"read"`` or ``"write"`` (``hubs.hub.READ``/``WRITE``).
        If the fd is closed under it (``notify_close``), ``mark_as_closed()``
        is called, then ``tb(IOClosed)``. A second listener (or waiter) on one
        fd and direction raises ``RuntimeError`` unless several are allowed
        (``debug.hub_prevent_multiple_readers(False)``).
        """
        if evtype not in _EVENTS:
            raise ValueError(f"evtype must be {EVTYPE_READ!r} or {EVTYPE_WRITE!r}, not {evtype!r}")
        if not isinstance(fileno, int):
            raise TypeError(f"fileno must be an int, not {fileno!r}")
        events = _EVENTS[evtype]
        if fileno in (self.io.readers if events == _pollers.READ else self.io.writers):
            self.io._refuse_second(fileno, events)
        from ._listeners import FdListener  # it subclasses _hub.Task, and _hub imports this module

        listener = FdListener(self, evtype, fileno, cb, tb, mark_as_closed)  # type: ignore[arg-type]
        self.start_task(listener)
        return listener

    def remove(self, listener: Any) -> None:
        """eventlet's: stop ``listener`` (from ``add``); no effect once it is spent."""
        from ._hub import Task

        if listener.spent:
            return
        listener.spent = True
        if listener._state == Task.QUEUED:
            listener._state = Task.DONE  # never starts
        elif listener._state == Task.RUNNING and listener._glet is not _getcurrent():
            self.throw(listener._glet, Removed())

    def _listener_callback(self, listener: Any) -> None:
        glet = _bound_greenlet(listener.cb, "switch")
        if glet is None:
            listener.cb(listener.fileno)
            return
        rec: Parked | None = getattr(glet, "rec", None)
        if rec is not None and rec.state == PARKED and rec.reason == SWITCH_REASON:
            self.unpark(rec, listener.fileno)

    def _listener_throwback(self, listener: Any, exc: BaseException) -> None:
        glet = _bound_greenlet(listener.tb, "throw")
        if glet is None:
            listener.tb(exc)
        elif not glet.dead:
            self.throw(glet, exc)

    def mark_as_reopened(self, fileno: int) -> None:
        """eventlet's: ``fileno`` was returned by an open call, so its old waiters get ``IOClosed``."""
        self.notify_close(fileno)

    def remove_descriptor(self, fileno: int) -> None:
        """eventlet's: drop every waiter and listener of ``fileno`` (they get ``IOClosed``)."""
        self.notify_close(fileno)

    # -- debugging knobs -------------------------------------------------------

    def set_debug_listeners(self, value: bool) -> None:
        """eventlet's toggle; nothing to do: every fd waiter is a green thread whose stack the dump shows."""

    def set_timer_exceptions(self, value: bool) -> None:
        """eventlet's: set ``debug_exceptions``."""
        self.debug_exceptions = bool(value)

    @property
    def timers_canceled(self) -> int:
        """eventlet's: cancelled timers not yet dropped (dropped in bulk when they are half of all)."""
        return self._timers._cancelled

    @property
    def next_timers(self) -> list[Any]:
        """eventlet's staging list of new timers: always empty, greenlane adds timers to its heap at once."""
        return []

