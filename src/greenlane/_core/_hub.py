"""The hub: one per OS thread, the only code that switches between green threads.

A green thread that must wait *parks* (``_parking``): it marks its record
PARKED, optionally sets a timer, and switches away. The hub loop is four
steps per pass (see ``_run``): poll I/O, fire due timers, run queued
callbacks, then resume exactly the threads that were ready when the resume
step began, so a green thread looping on ``sleep(0)`` cannot starve sockets
or timers. A parking thread may resume the next ready one itself instead of
going through the hub (direct hand-off, ``_switch_out``), within that pass's
budget.

Green threads started by ``spawn`` run on pooled *worker* greenlets: creating
a greenlet costs ~9.5 us on CPython 3.11 (it maps a fresh stack chunk), and
switching into a parked one under 1 us. A worker runs one ``Task`` at a time;
identity (``current()``, attributes, locals) belongs to the task, not to the
worker, so nothing leaks from one task to the next.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys as _sys
from _thread import _local
from collections import deque
from collections.abc import Callable
from typing import Any, ClassVar, Final, Protocol

from greenlet import GreenletExit, greenlet
from greenlet import getcurrent as _getcurrent

from . import _pollers, _stdlib
from ._compat import EventletHubAPI
from ._config import read_config
from ._errors import CrossThreadError, DeadlockError, IOClosed, cross_thread_message
from ._fdqueue import SHARED
from ._fds import FdWaits
from ._introspect import HubStatistics, Introspection
from ._parking import (
    ABORTED,
    PARKED,
    RUNNING,
    TIMED_OUT,
    TIMED_OUT_STATE,
    WOKEN,
    Parked,
    park,
    record_of,
    take_deferred,
)
from ._timeouts import check_timeout
from ._timers import Timer, TimerHeap
from ._wakers import other_threads_alive, python_signal_handlers
from ._wakeup import Wakeup

__all__ = [
    "TIMED_OUT",
    "CrossThreadError",
    "DeadlockError",
    "Hub",
    "HubStatistics",
    "IOClosed",
    "Parked",
    "Task",
    "current",
    "get_hub",
]

log = logging.getLogger("greenlane.hub")

# A finished worker parks for reuse; past this many idle ones it exits instead,
# so a burst of 100k spawns does not keep 100k stacks alive afterwards.
MAX_IDLE_WORKERS: Final = 1024

# Past a pass's budget a parking thread may still hand off directly this many
# times while no fd is watched: only timers can then wait, by at most this many
# switches (~30 us), and a ping-pong between two threads skips the hub.
SPARE_HANDOFFS: Final = 32

class VirtualClock(Protocol):
    """What the hub needs from a test clock (see ``greenlane.testing``)."""

    def now(self) -> float:
        """The current virtual time."""

    def advance(self, seconds: float) -> None:
        """Move virtual time forward."""


class Task:
    """Something a worker greenlet runs: the base of ``GreenThread``."""

    __slots__ = ("__dict__", "__weakref__", "_glet", "_state")

    # _state: QUEUED until a worker picks it up, then RUNNING, then DONE.
    QUEUED: Final = 0
    RUNNING: Final = 1
    DONE: Final = 2

    def __init__(self) -> None:
        self._glet: greenlet | None = None
        self._state = Task.QUEUED

    def _run(self) -> None:
        """Run to completion; must not raise (report instead)."""
        raise NotImplementedError

    def _hub(self) -> Hub:
        """The hub of the thread running this task (it must have started)."""
        assert self._glet is not None
        return self._glet.rec.hub  # type: ignore[attr-defined,no-any-return]


class _Worker(greenlet):
    """A pooled greenlet that runs tasks one after another."""

    __slots__ = ("rec", "task")

    def __init__(self, hub: Hub) -> None:
        super().__init__(hub._work, hub.greenlet)
        self.rec = Parked(hub, self)
        self.task: Task | None = None


_tls = _local()


def get_hub() -> Hub:
    """The calling OS thread's hub, created on first use."""
    try:
        return _tls.hub  # type: ignore[no-any-return]
    except AttributeError:
        hub = _tls.hub = _new_hub()
        return hub


def _new_hub() -> Hub:
    """A hub for this thread: the asyncio one if asked for, or if an asyncio loop runs here (see _aio)."""
    name = _preferred_poller()
    aio = _sys.modules.get("asyncio")  # no loop runs unless asyncio was imported
    if name == "asyncio" or (name is None and aio is not None and aio._get_running_loop() is not None):
        from ._aio import AsyncioHub  # lazy: only programs that use asyncio pay for it

        return AsyncioHub()
    return Hub()


def current_hub() -> Hub:
    """The calling thread's hub, found through the current greenlet when it can be (faster)."""
    try:
        hub: Hub = _getcurrent().rec.hub  # type: ignore[attr-defined]
    except AttributeError:
        return get_hub()
    return get_hub() if hub._closed else hub  # a record left from a replaced hub


def _call_with_kwargs(callback: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    callback(*args, **kwargs)


def _call_if_alive(
    owner: Any, callback: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    alive = owner._state != Task.DONE if isinstance(owner, Task) else not owner.dead
    if alive:
        callback(*args, **kwargs)


def current() -> Any:
    """The running green thread: its ``Task`` if spawned, else the raw greenlet."""
    glet = _getcurrent()
    task = getattr(glet, "task", None)
    return glet if task is None else task


class Hub(FdWaits, Wakeup, Introspection, EventletHubAPI):
    """The scheduler of one OS thread: ready queue, timers, fd readiness, wake-ups."""

    # Called with every new hub when set: greenlane.debug sets it so that
    # GREENLANE_MAX_BLOCKING_TIME reaches hubs it never saw (a process-wide
    # debug toggle, see docs/design.md). Checked once per hub, never per pass.
    on_new_hub: ClassVar[Callable[[Hub], object] | None] = None

    def __init__(self, poller: str | None = None) -> None:
        self._ident = _stdlib.get_ident()
        # Records of green threads to resume (see Parked.resume).
        self._ready: deque[Parked] = deque()
        # Callbacks to run in the hub: (callback, args).
        self._calls: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()
        # Resumes left in this pass; a parking thread may run one directly (see _switch_out).
        self._budget = 0
        self._spare = 0
        self._timers = TimerHeap()
        native = poller or _preferred_poller()
        self._poller = _pollers.make_poller(None if native == "asyncio" else native)
        self._readers: dict[int, Parked] = {}
        self._writers: dict[int, Parked] = {}
        self._fd_lines: dict[tuple[int, int], deque[Parked]] = {}
        self._close_watchers: dict[int, list[Parked]] = {}
        self._registered: dict[int, int] = {}
        self._xthread: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()
        self._pending_external = 0
        self._polling = False
        self._idle: list[_Worker] = []
        self._tasks_alive = 0
        # Read (never written) by greenlane.debug's blocking detector from its own
        # thread: unchanged counters while not _polling mean nobody switched.
        self._switches = 0
        self._passes = 0
        # Wall-clock accounting (statistics(); a parked record's ``since``).
        self._created = _stdlib.monotonic()
        self._pass_start = self._created
        self._poll_time = 0.0
        self._longest_pass = 0.0
        self._virtual: VirtualClock | None = None
        self.clock: Callable[[], float] = _stdlib.monotonic
        root = _getcurrent()
        while root.parent is not None:
            root = root.parent
        self._root: greenlet = root
        self.greenlet: greenlet = greenlet(self._run, root)
        root.rec = Parked(self, root)  # type: ignore[attr-defined]
        self._wakeup_r, self._wakeup_w = -1, -1
        self._signal_fd_set = False
        self._closed = False
        self._open_wakeup()
        if Hub.on_new_hub is not None:
            Hub.on_new_hub(self)

    # -- scheduling -------------------------------------------------------

    def call_soon(self, callback: Callable[..., Any], /, *args: Any) -> None:
        """Run ``callback(*args)`` in the hub on its next pass (from the hub's own thread)."""
        self._check_thread("call_soon")
        self._calls.append((callback, args))

    def call_later(self, delay: float, callback: Callable[..., Any], /, *args: Any) -> Timer:
        """Run ``callback(*args)`` in the hub after ``delay`` seconds; returns a cancellable timer."""
        self._check_thread("call_later")
        delay = check_timeout(delay, "delay")
        return Timer(self._timers, self._timers.add(self.clock() + delay, callback, args))

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
        owner = current()
        return self.call_later(seconds, _call_if_alive, owner, callback, args, kwargs)

    def call_soon_threadsafe(self, callback: Callable[..., Any], /, *args: Any) -> None:
        """Run ``callback(*args)`` in this hub's thread; the one safe way in from another OS thread."""
        self._xthread.append((callback, args))
        if self._polling:
            try:
                _stdlib.os_write(self._wakeup_w, b"\0")
            except BlockingIOError:  # pipe full: a wake-up is already pending
                pass

    def hold_external(self) -> None:
        """Record work pending in another OS thread that will call back into this hub.

        While any is held the hub never reports a deadlock (the work may still
        wake someone). Pair every call with ``release_external``.
        """
        self._check_thread("hold_external")
        self._pending_external += 1

    def release_external(self) -> None:
        """End one ``hold_external``; callable from any OS thread."""
        if _stdlib.get_ident() != self._ident:
            self.call_soon_threadsafe(self.release_external)
        else:
            self._pending_external -= 1

    def start_task(self, task: Task) -> None:
        """Queue ``task`` to start on a worker greenlet on the next pass."""
        self._tasks_alive += 1
        self._calls.append((self._start, (task,)))

    # -- parking ----------------------------------------------------------

    def park(
        self,
        reason: str,
        timeout: float | None = None,
        queue: deque[Parked] | None = None,
        on_abandon: Callable[[Any], object] | None = None,
    ) -> Any:
        """Suspend the calling green thread (of this hub's thread); see ``_parking.park``."""
        self._check_thread(reason)
        return park(reason, timeout, queue, on_abandon)

    def record_of_hub_greenlet(self) -> Parked:
        """A wait in the hub's own greenlet: refused (the asyncio hub may hand its greenlet over)."""
        raise RuntimeError("cannot block in the hub greenlet")

    def _switch_out(self, rec: Parked) -> Any:
        """Leave the current (parking) thread; return what it is resumed with."""
        try:
            ready = self._ready
            if self._budget > 0:
                # Direct hand-off: resume the next ready thread from here, saving
                # the trip through the hub (see _run, step 4).
                self._budget -= 1
                nxt = ready.popleft()
                value = nxt.resume(nxt.value)
            elif self._spare > 0 and ready and not (self._readers or self._writers):
                self._spare -= 1
                self._switches += 1
                nxt = ready.popleft()
                value = nxt.resume(nxt.value)
            else:
                value = self.greenlet.switch()
        except BaseException:
            # Thrown into: by throw() (already ABORTED), or by someone else
            # (greenlet's own GreenletExit on collection), then clean up here.
            if rec.state == PARKED:
                self._abort(rec)
            rec.state = RUNNING
            rec.resume = rec.switch
            rec.value = None
            rec.pending = None
            if rec.timer is not None:
                self._timers.cancel(rec.timer)
                rec.timer = None
            raise
        if rec.timer is not None:
            self._timers.cancel(rec.timer)
            rec.timer = None
        rec.value = None  # the hub's copy of what we were handed
        pending = rec.pending
        if pending is not None:
            rec.pending = None
            if rec.state == WOKEN and rec.on_abandon is not None:
                rec.state = RUNNING
                rec.on_abandon(value)
            rec.state = RUNNING
            raise pending
        rec.state = RUNNING
        return value

    def unpark(self, rec: Parked, value: Any = None) -> bool:
        """Wake a parked thread with ``value``; False if it was already woken or gone."""
        if rec.state != PARKED:
            return False
        if self._ident != _stdlib.get_ident():
            raise CrossThreadError(cross_thread_message(rec.reason))
        rec.state = WOKEN
        rec.value = value
        self._ready.append(rec)
        return True

    def throw(self, glet: greenlet, exc: BaseException, *, front: bool = False, soft: bool = False) -> bool:
        """Raise ``exc`` in green thread ``glet`` wherever it waits (the hub delivers it).

        ``soft``: if ``glet`` was already woken from its wait (handed a value
        it has not run with yet), keep that wait's result and raise ``exc`` at
        the start of its next wait instead (see ``_parking``); returns False
        then, True otherwise.
        """
        self._check_thread("throw")
        if not isinstance(exc, BaseException):
            raise TypeError(f"throw() needs an exception instance, not {exc!r}")
        if glet is _getcurrent():
            raise exc
        rec: Parked | None = getattr(glet, "rec", None)
        if rec is not None and rec.hub is not self:
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
            self._abort(rec)
        elif glet.dead:
            return True
        else:
            rec = Parked(self, glet)  # a raw greenlet we never parked: a one-off record
        rec.resume = glet.throw
        rec.value = exc
        if front:
            self._ready.appendleft(rec)
        else:
            self._ready.append(rec)
        return True

    def _expire(self, rec: Parked) -> None:
        rec.timer = None  # fired: nothing to cancel on resumption
        if rec.state == PARKED:
            rec.state = TIMED_OUT_STATE
            if rec.queue is not None or rec.fd >= 0:
                self._abort(rec)
            rec.value = TIMED_OUT
            self._ready.append(rec)

    def _abort(self, rec: Parked) -> None:
        if rec.queue is not None:
            rec.queue.remove(rec)
        elif rec.fd >= 0 and rec.events & SHARED:
            self._leave_lines(rec)  # promotes the next waiter on that fd (_fdqueue)
        elif rec.fd >= 0:
            fd = rec.fd
            if rec.events & _pollers.READ and self._readers.get(fd) is rec:
                del self._readers[fd]
            if rec.events & _pollers.WRITE and self._writers.get(fd) is rec:
                del self._writers[fd]

    def yield_now(self) -> None:
        """Let every other ready green thread run once, and I/O be polled."""
        glet = _getcurrent()
        if glet is self.greenlet:
            return
        rec = record_of(glet, self)
        if rec.deferred is not None:
            raise take_deferred(rec)
        self._spare = 0  # a yield must reach the hub's poll, never hand off to itself
        rec.reason = "sleep(0)"
        rec.queue = None
        rec.on_abandon = None
        rec.state = WOKEN
        rec.value = None
        self._ready.append(rec)
        self._switch_out(rec)

    # -- the loop ---------------------------------------------------------

    def _run(self) -> None:
        callback: Any
        args: Any
        rec: Any
        ready, calls = self._ready, self._calls
        next_resume, next_call = ready.popleft, calls.popleft
        timers = self._timers
        monotonic = _stdlib.monotonic
        self._pass_start = monotonic()
        while True:
            try:
                while True:
                    # 0. The pass that just ended: one clock read per pass (it also
                    #    serves step 2), for statistics() and parked records' ``since``.
                    now = monotonic()
                    if now > self._pass_start + self._longest_pass:  # (max() costs a call)
                        self._longest_pass = now - self._pass_start
                    self._passes += 1
                    # 1. Poll I/O: without waiting if something is ready, else until the next timer.
                    if ready or calls:
                        if self._readers or self._writers:
                            self._poll(0.0)
                        elif self._xthread:
                            self._drain_xthread()
                    else:
                        self._poll(self._idle_timeout())
                        now = monotonic()
                    self._pass_start = now
                    # 2. Fire due timers (their callbacks only mark threads ready).
                    if timers._heap:
                        if self._virtual is not None:
                            now = self.clock()
                        if timers._heap[0] <= now:
                            timers.run_due(now)
                    # 3. Run the queued callbacks (spawns, cross-thread calls, call_soon).
                    if calls:
                        for _ in range(len(calls)):
                            callback, args = next_call()
                            callback(*args)
                        callback = args = None  # keep nothing alive while idle
                    # 4. Resume the threads ready now; what they make ready waits a pass.
                    #    A parking thread may resume the next one itself (direct hand-off,
                    #    _switch_out): it spends this pass's budget, then a few spares
                    #    when no fd is watched.
                    self._budget = len(ready)
                    self._spare = SPARE_HANDOFFS
                    self._switches += self._budget
                    while self._budget > 0:
                        self._budget -= 1
                        rec = next_resume()
                        rec.resume(rec.value)
                    self._spare = 0
                    rec = None  # keep nothing alive while idle
            except GreenletExit:
                raise  # the hub itself is being collected
            except (KeyboardInterrupt, SystemExit) as exc:
                self._budget = self._spare = 0
                self.throw(self._root, exc, front=True)
            except BaseException as exc:  # the hub's single catch-all: reported, never silenced
                self._budget = self._spare = 0
                report = log.error if self.debug_exceptions else log.debug  # never silenced
                report("greenlane hub: unhandled error in a callback", exc_info=exc)

    def _idle_timeout(self) -> float | None:
        """How long the hub may sleep when nothing is ready (None: until woken)."""
        if self._xthread or self._ready or self._calls:
            return 0.0
        deadline = self._timers.next_deadline()
        only_timers = not (self._readers or self._writers or self._pending_external)
        if deadline is None:
            if only_timers and not other_threads_alive() and not python_signal_handlers(self._ident):
                self._deadlock()
                return 0.0
            return None
        if self._virtual is not None and only_timers:
            self._virtual.advance(max(0.0, deadline - self.clock()))
            return 0.0
        return max(0.0, deadline - self.clock())

    def _poll(self, timeout: float | None) -> None:
        if timeout != 0.0:
            self._polling = True
            if self._xthread:
                timeout = 0.0
        try:
            if timeout != 0.0:  # about to sleep: two clock reads are nothing next to it
                start = _stdlib.monotonic()
                events = self._poller.poll(timeout)
                slept = _stdlib.monotonic() - start
                self._poll_time += slept
                if self._virtual is not None:
                    self._virtual.advance(slept)
            else:
                events = self._poller.poll(timeout)
        finally:
            self._polling = False
        if events:
            self._dispatch_all(events)
        if self._xthread:
            self._drain_xthread()

    def _drain_xthread(self) -> None:
        xthread, append = self._xthread, self._calls.append
        while xthread:
            append(xthread.popleft())

    def _deadlock(self) -> None:
        rec: Parked | None = getattr(self._root, "rec", None)
        if rec is None or rec.state != PARKED:
            raise RuntimeError(f"greenlane hub: idle while the main green thread is not parked: {rec!r}")
        what = rec.reason if rec is not None and rec.state == PARKED else "something"
        others = self._tasks_alive
        self.throw(
            self._root,
            DeadlockError(
                f"the main green thread waits on {what} forever: nothing is ready, no timer is "
                f"pending, no fd is watched and no other OS thread has work pending "
                f"({others} other green thread{'s' if others != 1 else ''} also blocked)"
            ),
        )

    def _start(self, task: Task) -> None:
        if task._state != Task.QUEUED:  # cancelled before it started
            self._tasks_alive -= 1
            return
        idle = self._idle
        worker = idle.pop() if idle else _Worker(self)
        worker.task = task
        worker.switch()  # no arguments: greenlet would hold them for the worker's life

    def _work(self) -> None:
        """A worker greenlet's whole life: run tasks, park idle between them."""
        me: _Worker = _getcurrent()  # type: ignore[assignment]
        idle = self._idle
        hub_switch = self.greenlet.switch
        while True:
            task = me.task
            assert task is not None
            task._glet = me
            task._run()
            me.rec.deferred = None  # a soft throw the ended task never waited for again
            me.task = task = None  # an idle worker keeps no task alive...
            me.gr_context = None  # ...nor its contextvars
            self._tasks_alive -= 1
            if len(idle) >= MAX_IDLE_WORKERS or self._closed:
                return
            idle.append(me)
            hub_switch()

    def _check_thread(self, what: str) -> None:
        if self._ident != _stdlib.get_ident():
            raise CrossThreadError(cross_thread_message(what))

    def __repr__(self) -> str:
        s = self.statistics()
        return (
            f"<Hub {self._poller.name} thread={self._ident} ready={s.ready} timers={s.timers} "
            f"readers={s.readers} writers={s.writers} green_threads={s.green_threads}>"
        )


def _preferred_poller() -> str | None:
    return getattr(_tls, "poller", None) or read_config().hub


def set_preferred_poller(name: str | None) -> None:
    """Make this thread's next hubs use poller ``name`` (None: ``GREENLANE_HUB`` or the best)."""
    if name is not None and name != "asyncio":
        _pollers.make_poller(name).close()  # validates the name
    _tls.poller = name


def check_hub_idle() -> None:
    """Raise ``RuntimeError`` if this thread's hub still has work (so it cannot be replaced)."""
    hub: Hub | None = getattr(_tls, "hub", None)
    if hub is None:
        return
    if hub._ready or hub._calls or len(hub._timers) or hub._readers or hub._writers or hub._tasks_alive:
        raise RuntimeError(f"cannot replace a hub that still has work: {hub!r}")


def reset_thread_hub() -> None:
    """Drop this thread's hub (it must be idle) so the next ``get_hub()`` makes a new one."""
    hub: Hub | None = getattr(_tls, "hub", None)
    if hub is None:
        return
    check_hub_idle()
    del _tls.hub
    if getattr(hub._root, "rec", None) is not None:
        delattr(hub._root, "rec")
    hub.close()


def _after_fork_in_child() -> None:
    hub: Hub | None = getattr(_tls, "hub", None)
    if hub is not None:
        hub._after_fork()


def _at_exit() -> None:
    # At interpreter exit greenlet kills the green threads still parked, by
    # throwing GreenletExit into each; a worker ending that way must simply
    # finish, not park again in a hub that will never run.
    hub: Hub | None = getattr(_tls, "hub", None)
    if hub is not None:
        hub._closed = True


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_at_exit)
