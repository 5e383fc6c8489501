"""eventlet's hub calls (``add``/``remove``, ``switch``, ``abort``...) on the class of every hub.

Code written against eventlet's hub (its ``green.zmq`` and ``green.select``,
and libraries copied from them) talks to the hub in eventlet's terms:
``listener = hub.add(READ, fd, cb, tb, mark_as_closed)`` asks for ``cb(fd)``
each time ``fd`` is ready, until ``hub.remove(listener)``; ``hub.switch()``
suspends the caller until somebody switches back to it. ``Hub`` here is a
subclass of the core's hub that answers those calls with the core's own
public machinery (``wait_fd``, ``park``, ``unpark``, ``throw``), so nothing
here touches the loop; ``greenlane.hubs`` installs it as the class every
thread's hub is made from (``greenlane._core.set_hub_class``, the core's
extension point), and the core knows nothing about eventlet.

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
from dataclasses import dataclass
from typing import Any, Final

from greenlet import GreenletExit, getcurrent, greenlet

from .. import _core
from .._core import PARKED, READ, WRITE, IOClosed, Parked, Task, Timer, check_fd_free, current, park

__all__ = ["EVTYPE_READ", "EVTYPE_WRITE", "SWITCH_REASON", "FdListener", "FdWaiter", "Hub"]

log = logging.getLogger("greenlane.hub")

# eventlet's names for the two directions (its ``hubs.hub.READ`` and ``WRITE``).
EVTYPE_READ: Final = "read"
EVTYPE_WRITE: Final = "write"
_EVENTS: Final = {EVTYPE_READ: READ, EVTYPE_WRITE: WRITE}

# The park reason of ``hub.switch()``: only a thread parked with it is woken by a listener.
SWITCH_REASON: Final = "hub.switch()"

# eventlet's hub sleeps at most this long when nothing is scheduled (``default_sleep``).
EVENTLET_DEFAULT_SLEEP: Final = 60.0


class Removed(GreenletExit):
    """Thrown into a listener's green thread by ``remove``: it ends quietly."""


@dataclass(frozen=True, slots=True)
class FdWaiter:
    """A snapshot of one green thread waiting on an fd, shaped as eventlet's ``FdListener``.

    ``evtype`` is eventlet's ``"read"`` or ``"write"``; ``greenlet`` is the
    waiting greenlet (a pooled worker for a spawned green thread: its
    ``task`` attribute is the ``GreenThread``); ``reason`` what it waits for.
    """

    evtype: str
    fileno: int
    greenlet: greenlet
    reason: str

    def __repr__(self) -> str:
        return f"<FdWaiter {self.evtype} fd={self.fileno} reason={self.reason!r}>"


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
    alive = owner._state != Task.DONE if isinstance(owner, Task) else not owner.dead
    if alive:
        callback(*args, **kwargs)


class Hub(_core.Hub):
    """greenlane's hub with eventlet's hub calls: the class of every thread's hub."""

    _aborted: bool = False

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
        return self.call_later(seconds, _call_if_alive, current(), callback, args, kwargs)

    def get_timers_count(self) -> int:
        """eventlet's count of timers held: pending ones, plus cancelled ones not yet dropped.

        ``statistics().timers`` counts the pending ones only.
        """
        return self.timer_counts()[0]

    @property
    def timers_canceled(self) -> int:
        """eventlet's: cancelled timers not yet dropped (dropped in bulk when they are half of all)."""
        return self.timer_counts()[1]

    @property
    def next_timers(self) -> list[Any]:
        """eventlet's staging list of new timers: always empty, greenlane adds timers to its heap at once."""
        return []

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
            if getcurrent() is self.greenlet:
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
    ) -> FdListener:
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
        check_fd_free(self, fileno, _EVENTS[evtype])
        listener = FdListener(self, evtype, fileno, cb, tb, mark_as_closed)
        self.start_task(listener)
        return listener

    def remove(self, listener: FdListener) -> None:
        """eventlet's: stop ``listener`` (from ``add``); no effect once it is spent."""
        if listener.spent:
            return
        listener.spent = True
        listener.stop()

    def mark_as_reopened(self, fileno: int) -> None:
        """eventlet's: ``fileno`` was returned by an open call, so its old waiters get ``IOClosed``."""
        self.notify_close(fileno)

    def remove_descriptor(self, fileno: int) -> None:
        """eventlet's: drop every waiter and listener of ``fileno`` (they get ``IOClosed``)."""
        self.notify_close(fileno)

    def get_readers(self) -> list[FdWaiter]:
        """The green threads waiting to read an fd, as eventlet's listener records (its name).

        Each fd's waiters in the order they will be woken (see ``_core._fdqueue``).
        """
        return [FdWaiter(EVTYPE_READ, r.fd, r.glet, r.reason) for r in self.fd_waiters(READ)]

    def get_writers(self) -> list[FdWaiter]:
        """The green threads waiting to write an fd, as eventlet's listener records (its name)."""
        return [FdWaiter(EVTYPE_WRITE, r.fd, r.glet, r.reason) for r in self.fd_waiters(WRITE)]

    # -- debugging knobs -------------------------------------------------------

    def set_debug_listeners(self, value: bool) -> None:
        """eventlet's toggle; nothing to do: every fd waiter is a green thread whose stack the dump shows."""

    def set_timer_exceptions(self, value: bool) -> None:
        """eventlet's: set ``debug_exceptions``."""
        self.debug_exceptions = bool(value)


class FdListener(Task):
    """eventlet's fd listener: ``cb(fileno)`` each time ``fileno`` is ready, until removed.

    Fields as eventlet's ``hubs.hub.FdListener``: ``evtype`` (``"read"`` or
    ``"write"``), ``fileno``, ``cb``, ``tb``, ``mark_as_closed``, ``spent``
    and ``greenlet`` (the one that added it). It waits through ``wait_fd``
    like any other fd waiter, so ``notify_close`` reaches it (``IOClosed``:
    it calls ``mark_as_closed`` then the throwback) and ``get_readers()``
    lists it.
    """

    def __init__(  # noqa: PLR0917 - eventlet's positional signature
        self,
        hub: Hub,
        evtype: str,
        fileno: int,
        cb: Callable[[int], object],
        tb: Callable[[BaseException], object],
        mark_as_closed: Callable[[], object] | None,
    ) -> None:
        super().__init__()
        self.evtype = evtype
        self.fileno = fileno
        self.cb = cb
        self.tb = tb
        self.mark_as_closed = mark_as_closed
        self.spent = False
        self.greenlet = getcurrent()
        self._owner_hub = hub

    def stop(self) -> None:
        """End the listener: before it starts, or by ``Removed`` thrown into its wait."""
        if self._state == Task.QUEUED:
            self._state = Task.DONE  # never starts
        elif self._state == Task.RUNNING and self._glet is not None and self._glet is not getcurrent():
            self._owner_hub.throw(self._glet, Removed())

    def _run(self) -> None:
        hub = self._owner_hub
        self._state = Task.RUNNING
        events = _EVENTS[self.evtype]
        reason = f"eventlet listener ({self.evtype} fd {self.fileno})"
        try:
            while not self.spent:
                hub.wait_fd(self.fileno, events, reason=reason)
                if not self.spent:
                    self._callback()
        except Removed:
            pass
        except (KeyboardInterrupt, SystemExit) as exc:
            self.spent = True
            hub.throw(hub.root, exc, front=True)
        except IOClosed as exc:  # notify_close: defang, then tell the owner
            self.spent = True
            if self.mark_as_closed is not None:
                self.mark_as_closed()
            self._throwback(exc)
        except BaseException as exc:  # reported, and the listener is dropped (as eventlet does)
            self.spent = True
            report = log.error if hub.debug_exceptions else log.debug
            report("greenlane hub: eventlet listener %r failed; removed", self, exc_info=exc)
        finally:
            self._state = Task.DONE

    def _callback(self) -> None:
        glet = _bound_greenlet(self.cb, "switch")
        if glet is None:
            self.cb(self.fileno)
            return
        rec: Parked | None = getattr(glet, "rec", None)
        if rec is not None and rec.state == PARKED and rec.reason == SWITCH_REASON:
            self._owner_hub.unpark(rec, self.fileno)

    def _throwback(self, exc: BaseException) -> None:
        glet = _bound_greenlet(self.tb, "throw")
        if glet is None:
            self.tb(exc)
        elif not glet.dead:
            self._owner_hub.throw(glet, exc)

    def __repr__(self) -> str:
        state = "spent" if self.spent else "listening"
        return f"<FdListener {self.evtype} fd={self.fileno} {state} cb={self.cb!r}>"


_core.set_hub_class(Hub)
