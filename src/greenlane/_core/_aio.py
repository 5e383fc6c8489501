"""The asyncio hub: green threads and asyncio tasks on one OS thread, one event loop, one poller.

The native hub owns its poll loop. This one owns nothing that sleeps: the
asyncio event loop does, and the hub runs inside it as callbacks.

- An fd wait registers the fd with ``loop.add_reader``/``add_writer``
  (``_LoopPoller``, the ``Poller`` interface the native hub's fd tables
  already speak, so registration rules, kept registrations and shared fds are
  unchanged); the loop's callback dispatches the report and runs a pass.
- The hub's timers stay in its own heap; one ``loop.call_later`` is armed
  for the earliest deadline.
- ``call_soon_threadsafe`` from another OS thread becomes the loop's own.
- A *pass* (``_pass``) is the native loop's body without the poll: fire due
  timers, run queued calls, resume the threads ready now. Work made ready
  inside a pass is seen by its end, which schedules the next pass with
  ``loop.call_soon``. Work made ready outside a pass (a coroutine setting an
  Event, a done-callback of an awaited future, a signal handler) goes
  through ``_ready``/``_calls``, deques whose ``append`` kicks the loop
  (``_KickDeque``): invariant, nothing sits in ``_ready`` or ``_calls``
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
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, ClassVar, Final

from greenlet import GreenletExit, greenlet
from greenlet import getcurrent as _getcurrent

from . import _hub, _pollers, _stdlib
from ._parking import PARKED, Parked
from ._wakers import other_threads_alive, python_signal_handlers

__all__ = ["AsyncioHub", "loop_running_here", "set_loop_factory"]

_READ: Final = _pollers.READ
_WRITE: Final = _pollers.WRITE

LoopFactory = Callable[[], Any]

_tls = threading.local()


def set_loop_factory(factory: LoopFactory | None) -> None:
    """The loop factory of this thread's next driven asyncio hubs (None: ``asyncio.new_event_loop``)."""
    if factory is not None and not callable(factory):
        raise TypeError(f"loop_factory must be callable (returning an event loop), not {factory!r}")
    _tls.factory = factory


def loop_running_here() -> Any:
    """The asyncio loop running in this OS thread, or None (asyncio is not imported for this)."""
    aio = sys.modules.get("asyncio")
    if aio is None:
        return None
    return aio._get_running_loop()


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
        hub = getattr(_hub._tls, "hub", None)
        here = _getcurrent()
        if isinstance(hub, AsyncioHub) and not hub._closed and hub._loop.is_running() and here is not hub.greenlet:
            if here is hub._root and hub._own_loop:
                with contextlib.suppress(RuntimeError):  # busy: refused below
                    _hub.reset_thread_hub()
            if not hub._closed:
                if asyncio.iscoroutine(main):
                    main.close()
                raise RuntimeError(
                    "asyncio.run() was called inside a green thread, whose OS thread already runs the "
                    "asyncio hub's event loop: use greenlane.asyncio.await_(coroutine) to run it on "
                    "that loop from green code"
                )
        return original(main, *args, **kwargs)

    run.greenlane_guard = True  # type: ignore[attr-defined]
    asyncio.run = run
    asyncio.runners.run = run  # type: ignore[attr-defined]


class _KickDeque(deque):  # type: ignore[type-arg]
    """``_ready``/``_calls`` of an asyncio hub: an append outside a pass schedules one."""

    __slots__ = ("_hub",)

    def __init__(self, hub: AsyncioHub) -> None:
        super().__init__()
        self._hub = hub

    def append(self, item: Any) -> None:
        deque.append(self, item)
        hub = self._hub
        if not hub._in_pass and not hub._kicked:
            hub._kick()


class _LoopPoller:
    """The ``Poller`` interface on an asyncio loop: registrations become add_reader/add_writer."""

    name = "asyncio"

    def __init__(self, hub: AsyncioHub) -> None:
        self._hub = hub
        self.fds: dict[int, int] = {}  # what the loop watches now, per fd

    def modify(self, fd: int, events: int) -> None:
        self._set(fd, events)

    def unregister(self, fd: int) -> None:
        if fd in self.fds:
            self._set(fd, 0)

    def register(self, fd: int, events: int) -> None:
        # The hub registers an fd it does not hold: drop whatever the loop still has
        # for that number (closed and reused, or released from another thread) first.
        if fd in self.fds:
            self._set(fd, 0)
        self._forget(fd)
        self._set(fd, events)

    def _forget(self, fd: int) -> None:
        loop = self._hub._loop
        with contextlib.suppress(Exception):
            loop.remove_reader(fd)
        with contextlib.suppress(Exception):
            loop.remove_writer(fd)

    def _set(self, fd: int, events: int) -> None:
        loop = self._hub._loop
        have = self.fds.get(fd, 0)
        want = events & (_READ | _WRITE)
        try:
            if want & _READ and not have & _READ:
                loop.add_reader(fd, self._hub._fd_ready, fd, _READ)
            if want & _WRITE and not have & _WRITE:
                loop.add_writer(fd, self._hub._fd_ready, fd, _WRITE)
        except OSError as exc:
            if exc.errno == errno.EPERM and not isinstance(exc, PermissionError):
                raise PermissionError(*exc.args) from None  # a regular file (see _fds._watch)
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
        """Register every watched fd with ``loop`` instead (the old loop is closed or gone)."""
        fds, self.fds = self.fds, {}
        for fd, events in fds.items():
            try:
                self._set(fd, events)
            except OSError:
                self._hub._registered.pop(fd, None)

    def poll(self, timeout: float | None) -> list[tuple[int, int]]:
        raise AssertionError("the asyncio hub never polls: its loop does")

    def close(self) -> None:
        loop = self._hub._loop
        for fd, events in self.fds.items():
            with contextlib.suppress(Exception):
                if events & _READ:
                    loop.remove_reader(fd)
                if events & _WRITE:
                    loop.remove_writer(fd)
        self.fds.clear()


class AsyncioHub(_hub.Hub):
    """A hub whose I/O, timers and sleeping are an asyncio event loop's (see the module essay)."""

    poller_name_fixed: ClassVar[str] = "asyncio"  # what use_hub(hubs.asyncio.Hub) means

    def __init__(self, loop_factory: LoopFactory | None = None) -> None:
        self._in_pass = False
        self._kicked = False
        self._loop: Any = None
        self._factory = loop_factory if loop_factory is not None else getattr(_tls, "factory", None)
        self._own_loop = False  # driven: we made the loop, we close it
        self._started = False  # driven: run_forever was entered
        self._timer_handle: Any = None
        self._timer_when: float | None = None
        self._dying = False
        self._orphans: list[greenlet] = []  # hub greenlets left suspended in a pre-fork loop
        super().__init__(poller="select")  # replaced below: no native poller, no wake-up pipe
        self._poller.close()
        self._poller = _LoopPoller(self)  # type: ignore[assignment]
        self._ready = _KickDeque(self)
        self._calls = _KickDeque(self)
        _install_run_guard()
        running = loop_running_here()
        if running is not None and not hasattr(_getcurrent(), "task"):
            self._attach(running)
        else:
            self._drive_new_loop()

    # -- where the loop runs ---------------------------------------------

    @property
    def loop(self) -> Any:
        """The asyncio event loop this hub runs on."""
        return self._loop

    @property
    def attached(self) -> bool:
        """True when the hub runs inside a loop someone else started (``asyncio.run``)."""
        return not self._own_loop

    def _attach(self, loop: Any) -> None:
        """Run on ``loop``, already running in the calling greenlet: that greenlet is the hub's."""
        here = _getcurrent()
        self._loop = loop
        self._own_loop = False
        self._started = True
        self.greenlet = here
        rec = getattr(here, "rec", None)
        if rec is not None and rec.hub is self:
            del here.rec  # the hub greenlet never parks: blocking calls there get a clear error
        self._poller.move_to(loop)  # type: ignore[attr-defined]
        self._timer_when = None
        self._timer_handle = None
        self._kicked = False
        self._after_pass()

    def _drive_new_loop(self) -> None:
        """Make a loop of our own and a hub greenlet to run it (started by the first park)."""
        if self._factory is not None:
            loop = self._factory()
        else:
            import asyncio

            loop = asyncio.new_event_loop()
        self._loop = loop
        self._own_loop = True
        self._started = False
        self.greenlet = greenlet(self._run, self._root)
        if getattr(self._root, "rec", None) is None:
            self._root.rec = Parked(self, self._root)  # type: ignore[attr-defined]
        self._poller.move_to(loop)  # type: ignore[attr-defined]
        self._timer_when = None
        self._timer_handle = None

    def record_of_hub_greenlet(self) -> Parked:
        """A green wait in the greenlet that ran our (attached) loop: fine once that loop has ended."""
        loop = self._loop
        if self._own_loop or loop.is_running():
            raise RuntimeError(
                "a blocking greenlane call in the event loop itself (a coroutine or a loop callback) "
                "would block every task: run the blocking code in a green thread with "
                "`await greenlane.asyncio.green(fn, *args)`, or use the asyncio equivalent"
            )
        self._leave_loop()  # asyncio.run() has returned: greenlane drives a loop of its own now
        self._drive_new_loop()
        rec: Parked = self._root.rec  # type: ignore[attr-defined]
        return rec

    def _loop_for_work(self) -> Any:
        """The loop to schedule on, re-homing the hub first if its loop is gone or not the running one."""
        loop = self._loop
        running = loop_running_here()
        if running is not None and running is not loop and not hasattr(_getcurrent(), "task"):
            if not self._started or loop.is_closed():
                self._leave_loop()
                self._attach(running)
                return running
        if loop.is_closed():
            self._leave_loop()
            self._drive_new_loop()
            return self._loop
        return loop

    def _leave_loop(self) -> None:
        self._cancel_loop_timer()
        if self._own_loop and not self._loop.is_closed() and not self._started:
            self._loop.close()

    def _run(self) -> None:
        """The driven hub greenlet: run our loop for ever (a park switches here)."""
        loop = self._loop
        self._started = True
        self._kicked = True
        loop.call_soon(self._pass)
        while not self._closed:
            try:
                loop.run_forever()
            except GreenletExit:
                raise
            except (KeyboardInterrupt, SystemExit) as exc:
                self.throw(self._root, exc, front=True)
            except BaseException as exc:  # noqa: BLE001 -- reported, never silenced
                _hub.log.error("greenlane asyncio hub: the event loop failed", exc_info=exc)
            if self._dying:  # killed (collected) while inside the loop: unwound it first
                raise GreenletExit
            # run_forever returned (loop.stop() by someone): keep hosting the green threads.

    # -- scheduling ------------------------------------------------------

    def _kick(self) -> None:
        """Schedule a pass; callable from anywhere in this thread, signal handlers included."""
        self._kicked = True
        try:
            loop = self._loop_for_work()
            if self._started:
                loop.call_soon_threadsafe(self._pass)
            # driven and not started: _run schedules the first pass
        except RuntimeError:  # closed under us (interpreter exit): nothing will run it
            self._kicked = False

    def call_soon_threadsafe(self, callback: Callable[..., Any], /, *args: Any) -> None:
        """Run ``callback(*args)`` in this hub's thread; the one safe way in from another OS thread."""
        self._xthread.append((callback, args))
        loop = self._loop
        if loop is not None and self._started:
            with contextlib.suppress(RuntimeError):  # loop closed: the next home's pass drains it
                loop.call_soon_threadsafe(self._pass)

    def call_later(self, delay: float, callback: Callable[..., Any], /, *args: Any) -> Any:
        """Run ``callback(*args)`` in the hub after ``delay`` seconds; returns a cancellable timer."""
        timer = super().call_later(delay, callback, *args)
        if not self._in_pass:
            self._after_pass(in_loop=False)
        return timer

    # -- running ---------------------------------------------------------

    def _fd_ready(self, fd: int, events: int) -> None:
        """The loop's reader/writer callback: wake the fd's waiter and run it now."""
        self._dispatch(fd, events)
        self._pass()

    def _on_timer(self) -> None:
        self._timer_handle = None
        self._timer_when = None
        self._pass()

    def _pass(self) -> None:
        """One round of the native loop without the poll: due timers, queued calls, ready threads."""
        if self._in_pass or self._closed:
            return
        self._kicked = False
        self._in_pass = True
        ready, calls, timers = self._ready, self._calls, self._timers
        try:
            now = _stdlib.monotonic()
            if now > self._pass_start + self._longest_pass:
                self._longest_pass = now - self._pass_start
            self._pass_start = now
            self._passes += 1
            if self._xthread:
                self._drain_xthread()
            if timers._heap:
                if self._virtual is not None:
                    now = self.clock()
                if timers._heap[0] <= now:
                    timers.run_due(now)
            if calls:
                for _ in range(len(calls)):
                    callback, args = calls.popleft()
                    callback(*args)
            self._budget = len(ready)
            self._spare = _hub.SPARE_HANDOFFS
            self._switches += self._budget
            while self._budget > 0:
                self._budget -= 1
                rec = ready.popleft()
                rec.resume(rec.value)
        except GreenletExit:
            # The driven hub greenlet is being collected: leave run_forever first (asyncio
            # would report an exception escaping a callback), then die (see _run).
            self._dying = True
            self._loop.stop()
            return
        except (KeyboardInterrupt, SystemExit) as exc:
            self._budget = self._spare = 0
            self._in_pass = False
            self.throw(self._root, exc, front=True)  # attached: raised here, out of the loop
        except BaseException as exc:  # noqa: BLE001 -- the pass's catch-all, as the native loop's
            report = _hub.log.error if self.debug_exceptions else _hub.log.debug
            report("greenlane hub: unhandled error in a callback", exc_info=exc)
        finally:
            self._budget = self._spare = 0
            self._in_pass = False
        self._after_pass()

    def _after_pass(self, in_loop: bool = True) -> None:
        """Keep the invariant: pending work has a pass scheduled, pending timers a loop timer.

        ``in_loop``: called as the loop's callback ends (a pass, a start), so the
        hub is idle now and a virtual clock may jump to the next deadline.
        """
        if self._closed:
            return
        if self._ready or self._calls or self._xthread:
            if not self._kicked:
                self._kicked = True
                loop = self._loop
                if self._started and not loop.is_closed():
                    loop.call_soon(self._pass)
            return
        deadline = self._timers.next_deadline()
        if deadline is None:
            self._cancel_loop_timer()
            if not self._own_loop or not self._started:
                return
            if self._readers or self._writers or self._pending_external:
                return
            if other_threads_alive() or python_signal_handlers(self._ident) or self._loop_busy():
                return
            rec = getattr(self._root, "rec", None)
            if rec is not None and rec.state == PARKED:
                self._deadlock()
            return
        if self._virtual is not None and not (self._readers or self._writers or self._pending_external):
            self._cancel_loop_timer()
            if in_loop:
                self._virtual.advance(max(0.0, deadline - self.clock()))
            if not self._kicked and self._started:
                self._kicked = True
                self._loop.call_soon(self._pass)
            return
        if deadline == self._timer_when:
            return
        self._cancel_loop_timer()
        if self._loop.is_closed():
            return
        self._timer_when = deadline
        self._timer_handle = self._loop.call_later(max(0.0, deadline - self.clock()), self._on_timer)

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
        loop = self._loop
        ready = getattr(loop, "_ready", None)
        scheduled = getattr(loop, "_scheduled", None)
        selector = getattr(loop, "_selector", None)
        if ready is None or scheduled is None or selector is None:
            return True

        def theirs(handle: Any) -> bool:
            callback = getattr(handle, "_callback", None)
            owner = getattr(callback, "__self__", None)
            return not handle._cancelled and owner is not self and owner is not loop

        if any(theirs(h) for h in list(ready)):
            loop.call_soon(self._idle_check)
            return True
        pending = [h for h in scheduled if theirs(h)]
        if pending:
            loop.call_at(max(h.when() for h in pending), self._idle_check)
            return True
        csock = getattr(loop, "_ssock", None)
        mine = {csock.fileno()} if csock is not None else set()
        return any(fd not in mine and fd not in self._poller.fds for fd in selector.get_map())  # type: ignore[attr-defined]

    def _idle_check(self) -> None:
        if not (self._in_pass or self._closed or self._ready or self._calls or self._xthread):
            self._after_pass()

    def _work(self) -> None:
        """A worker greenlet's whole life (as the native hub's; the hub greenlet may change after a fork)."""
        me: Any = _getcurrent()
        idle = self._idle
        while True:
            task = me.task
            assert task is not None
            task._glet = me
            task._run()
            me.rec.deferred = None
            me.task = task = None
            me.gr_context = None
            self._tasks_alive -= 1
            if len(idle) >= _hub.MAX_IDLE_WORKERS or self._closed:
                return
            idle.append(me)
            self.greenlet.switch()

    def start_now(self, task: _hub.Task) -> None:
        """Start ``task`` on a worker at once, from the hub greenlet (a coroutine or a callback)."""
        if _getcurrent() is not self.greenlet:
            raise RuntimeError("start_now() runs in the event loop's greenlet (a coroutine or callback)")
        self._tasks_alive += 1
        was, self._in_pass = self._in_pass, True  # appends made while it runs: one check below
        try:
            self._start(task)
        finally:
            self._in_pass = was
        if not was:
            self._after_pass()

    # -- the wake-up pipe's duties, fork, close ------------------------------

    def _open_wakeup(self) -> None:
        """No pipe: the loop has its own self-pipe (``call_soon_threadsafe``) and signal wake-ups."""

    def _close_wakeup(self) -> None:
        pass

    def _drain_wakeup(self) -> None:
        pass

    def _rebuild_poller(self) -> None:
        self._poller.move_to(self._loop)  # type: ignore[attr-defined]

    def _after_fork(self) -> None:
        """In a forked child: a fresh loop and hub greenlet (the parent's loop shares its epoll)."""
        self._ident = _stdlib.get_ident()
        self._xthread.clear()
        self._pending_external = 0
        if self._started and self._own_loop and not self.greenlet.dead:
            self._orphans.append(self.greenlet)  # suspended in the old loop: never resume or collect it
        self._orphans.extend(self._idle)
        self._idle.clear()
        self._poller.fds.clear()  # type: ignore[attr-defined]
        self._drive_new_loop()
        for fd, events in list(self._registered.items()):
            try:
                self._poller.register(fd, events)
            except OSError:
                del self._registered[fd]
        self._in_pass = False  # forked from inside a pass of the old hub greenlet
        self._budget = self._spare = 0
        self._kicked = False
        self._after_pass()

    def release_fd(self, fd: int) -> None:
        """``notify_close`` from any OS thread: the loop is touched only from its own thread."""
        if self._closed:
            return
        if _stdlib.get_ident() == self._ident:
            self.notify_close(fd)
            return
        # Dropped now (an atomic pop), so a wait on a reuse of the number registers it
        # afresh (_LoopPoller.register clears what the loop still holds for it).
        self._registered.pop(fd, None)
        waiters = [rec for rec in (self._readers.get(fd), self._writers.get(fd)) if rec is not None]
        if self._fd_lines:
            lines = self._fd_lines
            waiters += tuple(lines.get((fd, _READ), ())) + tuple(lines.get((fd, _WRITE), ()))
        self.call_soon_threadsafe(self._released, fd, waiters)

    def _released(self, fd: int, waiters: list[Parked]) -> None:
        if fd not in self._registered:
            self._poller.unregister(fd)
        self._wake_released(fd, waiters)

    def close(self) -> None:
        """Leave the loop: drop registrations and timer; a loop of our own is stopped and closed."""
        if self._closed:
            return
        self._closed = True
        self._cancel_loop_timer()
        loop = self._loop
        if loop is not None and not loop.is_closed():
            self._poller.close()
        if not self._own_loop or loop is None:
            return
        glet, here = self.greenlet, _getcurrent()
        if self._started and not glet.dead and glet is not here:
            # Let the hub greenlet finish its pass and leave run_forever (which restores
            # the thread's running-loop state); _run then returns here.
            loop.stop()
            glet.parent = here
            glet.switch()
        if not loop.is_running() and not loop.is_closed():
            loop.close()
