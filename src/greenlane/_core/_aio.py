"""The asyncio hub: green threads and asyncio tasks on one OS thread, one event loop, one poller.

The native hub owns its poll loop. This one owns nothing that sleeps: the
asyncio event loop does, and the hub runs inside it as callbacks.

- It is the hub's I/O manager (``AsyncioIO``, see ``_io``): ``PollerIO``'s fd
  tables over a poller whose registrations are ``loop.add_reader``/``add_writer``
  (``_LoopPoller``), so registration rules, kept registrations and shared fds
  are unchanged; the loop's callback dispatches the report and runs a pass.
- The hub's timers stay in its own heap; one ``loop.call_later`` is armed
  for the earliest deadline.
- ``call_soon_threadsafe`` from another OS thread becomes the loop's own.
- A *pass* (``_pass``) is ``hub.run_pass(poll=False)``: fire due timers, run
  queued calls, resume the threads ready now. Work made ready
  inside a pass is seen by its end, which schedules the next pass with
  ``loop.call_soon``. Work made ready outside a pass (a coroutine setting an
  Event, a done-callback of an awaited future, a signal handler) goes
  through the hub's run queues, built from ``run_queue`` (``_KickDeque``),
  whose ``append`` kicks the loop: invariant, nothing sits in ``_ready`` or ``_calls``
  without a pass scheduled or running.

Where the loop runs decides the hub greenlet (``hub.greenlet``, where a
parking green thread switches to):

- *attached*: a loop already runs in this thread (``asyncio.run(main())``);
  the greenlet running it is the hub's greenlet; coroutines and callbacks
  run there, green threads are switched into from there.
- *driven*: no loop runs (``GREENLANE_HUB=asyncio`` and plain green code);
  the hub makes one (its loop factory, default ``asyncio.new_event_loop``)
  and runs ``run_forever`` in a hub greenlet of its own, as the native hub
  runs its poll loop; the main green thread is an ordinary green thread.

A driven hub whose loop never started re-attaches to a loop that the
thread starts later (``use_hub("asyncio")`` then ``asyncio.run``), and an
attached hub whose loop was closed turns driven again, keeping its parked
threads, timers and registrations: the loop is a host, not an owner.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import sys
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from greenlet import GreenletExit, greenlet
from greenlet import getcurrent as _getcurrent

from . import _pollers, _stdlib, _threadhub
from ._fdqueue import FdLines
from ._io import PollerIO, register_io_manager
from ._parking import PARKED, Parked
from ._wakers import other_threads_alive, python_signal_handlers

if TYPE_CHECKING:
    from ._hub import Hub
    from ._tasks import Task

__all__ = ["AsyncioIO", "asyncio_wanted", "loop_running_here", "set_loop_factory"]

_READ: Final = _pollers.READ
_WRITE: Final = _pollers.WRITE

LoopFactory = Callable[[], Any]

_tls = _stdlib.thread_local()


def set_loop_factory(factory: LoopFactory | None) -> None:
    """The loop factory of this thread's next driven asyncio hubs (None: ``asyncio.new_event_loop``)."""
    if factory is not None and not callable(factory):
        raise TypeError(f"loop_factory must be callable (returning an event loop), not {factory!r}")
    _tls.factory = factory


def loop_running_here() -> bool:
    """True if an asyncio loop runs in this OS thread (asyncio is not imported for this)."""
    aio = sys.modules.get("asyncio")
    return aio is not None and aio._get_running_loop() is not None


def asyncio_wanted() -> bool:
    """Whether this thread's next hub runs on asyncio: asked for, or a loop already runs here."""
    name = _threadhub.preferred_io()
    return name == "asyncio" or (not name and loop_running_here())


def _running_loop() -> Any:
    aio = sys.modules.get("asyncio")
    return None if aio is None else aio._get_running_loop()


def _install_run_guard() -> None:
    """Make ``asyncio.run`` in a green thread of a running asyncio hub fail naming the fix.

    asyncio's own error ("cannot be called from a running event loop") names
    no way out, and in the main green thread of an idle hub that drives its
    own loop the call can simply succeed: that hub is closed first (the
    first greenlane call inside the new loop attaches a new one). Installed
    once, when the first asyncio hub is made; otherwise ``asyncio.run`` is
    called unchanged.
    """
    import asyncio
    import asyncio.runners

    original = asyncio.run
    if getattr(original, "greenlane_guard", False):
        return

    @functools.wraps(original)
    def run(main: Any, *args: Any, **kwargs: Any) -> Any:
        hub = _threadhub.existing_hub()
        here = _getcurrent()
        if hub is not None and not hub.closed and here is not hub.greenlet:
            io = hub.io
            if isinstance(io, AsyncioIO) and io.loop.is_running():
                if here is hub.root and io.own_loop:
                    from ._hooks import reset_thread_hub

                    with contextlib.suppress(RuntimeError):  # busy: refused below
                        reset_thread_hub()
                if not hub.closed:
                    if asyncio.iscoroutine(main):
                        main.close()
                    raise RuntimeError(
                        "asyncio.run() was called inside a green thread, whose OS thread already runs "
                        "the asyncio hub's event loop: use greenlane.asyncio.await_(coroutine) to run "
                        "it on that loop from green code"
                    )
        return original(main, *args, **kwargs)

    run.greenlane_guard = True  # type: ignore[attr-defined]
    asyncio.run = run
    asyncio.runners.run = run


class _KickDeque(deque):  # type: ignore[type-arg]
    """The hub's run queues on asyncio (``run_queue``): an append outside a pass schedules one."""

    __slots__ = ("_io",)

    def __init__(self, io: AsyncioIO) -> None:
        super().__init__()
        self._io = io

    def append(self, item: Any) -> None:
        deque.append(self, item)
        io = self._io
        if not io.in_pass and not io.kicked:
            io.kick()

    def appendleft(self, item: Any) -> None:  # a throw(front=True): Ctrl-C into the main green thread
        deque.appendleft(self, item)
        io = self._io
        if not io.in_pass and not io.kicked:
            io.kick()


class _LoopPoller:
    """The ``Poller`` interface on an asyncio loop: registrations become add_reader/add_writer."""

    name = "asyncio"

    def __init__(self, io: AsyncioIO) -> None:
        self._io = io
        self.fds: dict[int, int] = {}  # what the loop watches now, per fd

    def register(self, fd: int, events: int) -> None:
        # The manager registers an fd it does not hold: drop whatever the loop still has
        # for that number (closed and reused, or released from another thread) first.
        if fd in self.fds:
            self._set(fd, 0)
        loop = self._io.loop
        with contextlib.suppress(Exception):
            loop.remove_reader(fd)
        with contextlib.suppress(Exception):
            loop.remove_writer(fd)
        self._set(fd, events)

    def modify(self, fd: int, events: int) -> None:
        self._set(fd, events)

    def unregister(self, fd: int) -> None:
        if fd in self.fds:
            self._set(fd, 0)

    def _set(self, fd: int, events: int) -> None:
        loop = self._io.loop
        have = self.fds.get(fd, 0)
        want = events & (_READ | _WRITE)
        try:
            if want & _READ and not have & _READ:
                loop.add_reader(fd, self._io.fd_ready, fd, _READ)
            if want & _WRITE and not have & _WRITE:
                loop.add_writer(fd, self._io.fd_ready, fd, _WRITE)
        except OSError as exc:
            if exc.errno == errno.EPERM and not isinstance(exc, PermissionError):
                raise PermissionError(*exc.args) from None  # a regular file (see PollerIO._watch)
            raise
        if have & _READ and not want & _READ:
            with contextlib.suppress(Exception):
                loop.remove_reader(fd)
        if have & _WRITE and not want & _WRITE:
            with contextlib.suppress(Exception):
                loop.remove_writer(fd)
        if want:
            self.fds[fd] = want
        else:
            self.fds.pop(fd, None)

    def move_to(self, loop: Any) -> None:
        """Register every watched fd with the manager's (new) loop."""
        fds, self.fds = self.fds, {}
        for fd, events in fds.items():
            try:
                self._set(fd, events)
            except OSError:
                self._io.registered.pop(fd, None)

    def poll(self, timeout: float | None) -> list[tuple[int, int]]:
        return []  # the loop polls; its callbacks dispatch

    def close(self) -> None:
        loop = self._io.loop
        for fd, events in self.fds.items():
            with contextlib.suppress(Exception):
                if events & _READ:
                    loop.remove_reader(fd)
                if events & _WRITE:
                    loop.remove_writer(fd)
        self.fds.clear()


class AsyncioIO(PollerIO):
    """The I/O manager of a hub run by an asyncio loop (see the module essay)."""

    def __init__(self, hub: Hub, name: str) -> None:
        real = getattr(_pollers, "_epoll", None)
        if real is not None and getattr(sys.modules.get("select"), "epoll", real) is not real:
            raise RuntimeError(
                "the asyncio hub cannot run after greenlane.monkey_patch(): asyncio's own event loop "
                "would use the patched selectors and sockets; use greenlane's native hub with "
                "monkey_patch (GREENLANE_HUB=epoll), or the asyncio hub without patching"
            )
        FdLines.__init__(self, hub)  # PollerIO's tables; no poller, no wake-up pipe of its own
        self.name = name
        self.registered: dict[int, int] = {}
        self.loop_poller = _LoopPoller(self)
        self.poller = self.loop_poller  # type: ignore[assignment]  # PollerIO's tables use it
        self.run_queue = functools.partial(_KickDeque, self)
        self.in_pass = False
        self.kicked = False
        self.loop: Any = None
        self.factory: LoopFactory | None = getattr(_tls, "factory", None)
        self.own_loop = False  # driven: we made the loop, we close it
        self.started = False  # driven: run_forever was entered
        self._timer_handle: Any = None
        self._timer_when: float | None = None
        self._dying = False
        self._orphans: list[greenlet] = []  # hub greenlets left suspended in a pre-fork loop
        _install_run_guard()
        running = _running_loop()
        if running is not None and not hasattr(_getcurrent(), "task"):
            self._attach(running)
        else:
            self._drive_new_loop()

    def wake(self) -> None:
        """From another OS thread: the hub calls it only while ``polling``, which we never set."""
        self.kick_threadsafe()

    # -- where the loop runs ---------------------------------------------

    def _attach(self, loop: Any) -> None:
        """Run on ``loop``, already running in the calling greenlet: that greenlet is the hub's."""
        hub, here = self.hub, _getcurrent()
        self.loop = loop
        self.own_loop = False
        self.started = True
        hub.polling = True
        hub.greenlet = here
        rec = getattr(here, "rec", None)
        if rec is not None and rec.hub is hub:
            del here.rec  # type: ignore[attr-defined]  # it never parks
        self.loop_poller.move_to(loop)
        self._timer_when = None
        self._timer_handle = None
        self.kicked = False
        if hasattr(hub, "_ready"):  # (not yet while the hub is being created)
            self.after_pass()

    def after_init(self) -> None:
        """Once the hub is built: the greenlet running an attached loop has no record (it never parks)."""
        hub = self.hub
        hub.polling = self.started  # (Hub.__init__ set it after making us)
        if not self.own_loop:
            rec = getattr(hub.greenlet, "rec", None)
            if rec is not None and rec.hub is hub:
                del hub.greenlet.rec

    def _drive_new_loop(self) -> None:
        """Make a loop of our own and a hub greenlet to run it (started by the first park)."""
        hub = self.hub
        if self.factory is not None:
            loop = self.factory()
        else:
            import asyncio

            loop = asyncio.new_event_loop()
        self.loop = loop
        self.own_loop = True
        self.started = False
        hub.greenlet = greenlet(self._drive, hub.root)
        if hasattr(hub, "_ready") and getattr(hub.root, "rec", None) is None:
            hub.root.rec = Parked(hub, hub.root)  # type: ignore[attr-defined]
        self.loop_poller.move_to(loop)
        self._timer_when = None
        self._timer_handle = None

    def record_of_hub_greenlet(self) -> Parked:
        """A green wait in the greenlet that ran our (attached) loop: fine once that loop has ended."""
        loop = self.loop
        if self.own_loop or loop.is_running():
            raise RuntimeError(
                "a blocking greenlane call in the hub greenlet, the event loop itself (a coroutine or "
                "a loop callback), would block every task: run the blocking code in a green thread with "
                "`await greenlane.asyncio.green(fn, *args)`, or use the asyncio equivalent"
            )
        self._leave_loop()  # asyncio.run() has returned: greenlane drives a loop of its own now
        self._drive_new_loop()
        rec: Parked = self.hub.root.rec  # type: ignore[attr-defined]
        return rec

    def loop_for_work(self) -> Any:
        """The loop to schedule on, re-homing the hub first if its loop is gone or not the running one."""
        loop = self.loop
        running = _running_loop()
        re_home = not self.started or loop.is_closed()
        if re_home and running is not None and running is not loop and not hasattr(_getcurrent(), "task"):
            self._leave_loop()
            self._attach(running)
            return running
        if loop.is_closed():
            self._leave_loop()
            self._drive_new_loop()
            return self.loop
        return loop

    def _leave_loop(self) -> None:
        self._cancel_loop_timer()
        if self.own_loop and not self.loop.is_closed() and not self.started:
            self.loop.close()

    def _drive(self) -> None:
        """The driven hub greenlet: run our loop for ever (a park switches here)."""
        hub, loop = self.hub, self.loop
        self.started = True
        self.kicked = True
        hub.polling = True
        loop.call_soon(self._pass)
        while not hub.closed:
            try:
                loop.run_forever()
            except GreenletExit:
                raise
            except BaseException as exc:  # an interrupt goes to the main green thread, the rest logged
                hub.report(exc)
            if self._dying:  # killed (collected) while inside the loop: unwound it first
                raise GreenletExit
            # run_forever returned (loop.stop() by someone): keep hosting the green threads.

    # -- scheduling ------------------------------------------------------

    def kick(self) -> None:
        """Schedule a pass; callable from anywhere in this thread, signal handlers included."""
        self.kicked = True
        try:
            loop = self.loop_for_work()
            if self.started:
                loop.call_soon_threadsafe(self._pass)
            # driven and not started: _drive schedules the first pass
        except RuntimeError:  # closed under us (interpreter exit): nothing will run it
            self.kicked = False

    def kick_threadsafe(self) -> None:
        """From another OS thread (the hub's cross-thread queue has work)."""
        loop = self.loop
        if loop is not None and self.started:
            with contextlib.suppress(RuntimeError):  # loop closed: the next home's pass drains it
                loop.call_soon_threadsafe(self._pass)

    def timers_changed(self) -> None:
        """A timer was set outside a pass (a coroutine called ``call_later``): re-arm the loop's."""
        if not self.in_pass:
            self.after_pass(in_loop=False)

    # -- running ---------------------------------------------------------

    def fd_ready(self, fd: int, events: int) -> None:
        """The loop's reader/writer callback: wake the fd's waiter and run it now."""
        self._dispatch(fd, events)
        self._pass()

    def _on_timer(self) -> None:
        self._timer_handle = None
        self._timer_when = None
        self._pass()

    def _pass(self) -> None:
        """One pass of the hub, without polling (the loop did)."""
        hub = self.hub
        if self.in_pass or hub.closed:
            return
        self.kicked = False
        self.in_pass = True
        hub.polling = False
        try:
            hub.run_pass(poll=False)
        except GreenletExit:
            # The driven hub greenlet is being collected: leave run_forever first (asyncio
            # would report an exception escaping a callback), then die (see _drive).
            self._dying = True
            self.loop.stop()
            return
        except BaseException as exc:
            self.in_pass = False
            hub.report(exc)  # attached: an interrupt thrown into the loop's greenlet is raised here
        finally:
            hub._budget = hub._spare = 0
            self.in_pass = False
            # Between passes the loop sleeps for us: call_soon_threadsafe must wake it.
            hub.polling = True
        self.after_pass()

    def after_pass(self, in_loop: bool = True) -> None:
        """Keep the invariant: pending work has a pass scheduled, pending timers a loop timer.

        ``in_loop``: called as the loop's callback ends (a pass, a start), so the
        hub is idle now and a virtual clock may jump to the next deadline.
        """
        hub = self.hub
        if hub.closed:
            return
        if hub._ready or hub._calls or hub._xthread:
            if not self.kicked:
                self.kicked = True
                if self.started and not self.loop.is_closed():
                    self.loop.call_soon(self._pass)
            return
        deadline = hub._timers.next_deadline()
        busy_fds = self.readers or self.writers or hub._pending_external
        if deadline is None:
            self._cancel_loop_timer()
            if not self.own_loop or not self.started or busy_fds:
                return
            if other_threads_alive() or python_signal_handlers(hub.ident) or self._loop_busy():
                return
            rec = getattr(hub.root, "rec", None)
            if rec is not None and rec.state == PARKED:
                hub._deadlock()
            return
        if hub._advance is not None and not busy_fds:  # a virtual clock: jump, as the native hub
            self._cancel_loop_timer()
            if in_loop:
                hub._advance(max(0.0, deadline - hub.clock()))
            if not self.kicked and self.started:
                self.kicked = True
                self.loop.call_soon(self._pass)
            return
        if deadline == self._timer_when:
            return
        self._cancel_loop_timer()
        if self.loop.is_closed():
            return
        self._timer_when = deadline
        self._timer_handle = self.loop.call_later(max(0.0, deadline - hub.clock()), self._on_timer)

    def _cancel_loop_timer(self) -> None:
        if self._timer_handle is not None:
            self._timer_handle.cancel()
            self._timer_handle = None
        self._timer_when = None

    def _loop_busy(self) -> bool:
        """Whether the loop has work of its own (tasks, timers, fds) that could still wake us.

        Only a stdlib loop can be asked (uvloop cannot: assume it is busy). Its
        own self-pipe and our callbacks do not count; if it has callbacks or
        timers of its own, the question is asked again once they have run.
        """
        loop = self.loop
        ready = getattr(loop, "_ready", None)
        scheduled = getattr(loop, "_scheduled", None)
        selector = getattr(loop, "_selector", None)
        if ready is None or scheduled is None or selector is None:
            return True

        def theirs(handle: Any) -> bool:
            owner = getattr(getattr(handle, "_callback", None), "__self__", None)
            return not handle._cancelled and owner is not self and owner is not loop

        if any(theirs(h) for h in list(ready)):
            loop.call_soon(self._idle_check)
            return True
        pending = [h for h in scheduled if theirs(h)]
        if pending:
            loop.call_at(max(h.when() for h in pending), self._idle_check)
            return True
        ssock = getattr(loop, "_ssock", None)
        mine = {ssock.fileno()} if ssock is not None else set()
        fds = self.loop_poller.fds
        return any(fd not in mine and fd not in fds for fd in selector.get_map())

    def _idle_check(self) -> None:
        hub = self.hub
        if not (self.in_pass or hub.closed or hub._ready or hub._calls or hub._xthread):
            self.after_pass()

    def start_now(self, task: Task) -> None:
        """Start ``task`` on a worker at once, from the hub greenlet (a coroutine or a callback)."""
        hub = self.hub
        if _getcurrent() is not hub.greenlet:
            raise RuntimeError("start_now() runs in the event loop's greenlet (a coroutine or callback)")
        hub._workers.alive += 1
        was, self.in_pass = self.in_pass, True  # appends made while it runs: one check below
        try:
            hub._start(task)
        finally:
            self.in_pass = was
        if not was:
            self.after_pass()

    # -- the rest of the interface ---------------------------------------------

    def poll(self, timeout: float | None) -> None:
        """Never needed: the loop polls, and its callbacks wake the fd waiters."""

    def _rebuild_poller(self) -> None:
        self.loop_poller.move_to(self.loop)

    def release_fd(self, fd: int) -> None:
        """``notify_close`` from any OS thread: the loop is touched only from its own thread."""
        hub = self.hub
        if hub.closed:
            return
        if _stdlib.get_ident() == hub.ident:
            self.notify_close(fd)
            return
        # Dropped now (an atomic pop), so a wait on a reuse of the number registers it
        # afresh (_LoopPoller.register clears what the loop still holds for it).
        self.registered.pop(fd, None)
        waiters = [rec for rec in (self.readers.get(fd), self.writers.get(fd)) if rec is not None]
        if self.lines:
            lines = self.lines
            waiters += tuple(lines.get((fd, _READ), ())) + tuple(lines.get((fd, _WRITE), ()))
        hub.call_soon_threadsafe(self._released, fd, waiters)

    def _released(self, fd: int, waiters: list[Parked]) -> None:
        if fd not in self.registered:
            self.poller.unregister(fd)
        self._wake_released(fd, waiters)

    def after_fork(self) -> None:
        """In a forked child: a fresh loop and hub greenlet (the parent's loop shares its epoll)."""
        hub = self.hub
        if self.started and self.own_loop and not hub.greenlet.dead:
            self._orphans.append(hub.greenlet)  # suspended in the old loop: never resume or collect it
        self._orphans.extend(hub._workers.idle)  # their parent is that greenlet
        hub._workers.idle.clear()
        self.loop_poller.fds.clear()
        self._drive_new_loop()
        for fd, events in list(self.registered.items()):
            try:
                self.poller.register(fd, events)
            except OSError:
                del self.registered[fd]
        self.in_pass = False  # forked from inside a pass of the old hub greenlet
        hub._budget = hub._spare = 0
        self.kicked = False
        hub._xthread.clear()
        self.after_pass()

    def close(self) -> None:
        """Leave the loop: drop registrations and timer; a loop of our own is stopped and closed."""
        hub, loop = self.hub, self.loop
        self._cancel_loop_timer()
        if loop is None:
            return
        if not loop.is_closed():
            self.poller.close()
        if not self.own_loop:
            return
        glet, here = hub.greenlet, _getcurrent()
        if self.started and not glet.dead and glet is not here:
            # Let the hub greenlet finish its pass and leave run_forever (which restores
            # the thread's running-loop state); _drive then returns here.
            loop.stop()
            glet.parent = here
            glet.switch()
        if not loop.is_running() and not loop.is_closed():
            loop.close()

    def __repr__(self) -> str:
        loop = type(self.loop).__name__
        return f"<AsyncioIO {loop} readers={len(self.readers)} writers={len(self.writers)}>"


register_io_manager("asyncio", AsyncioIO, auto=loop_running_here)
