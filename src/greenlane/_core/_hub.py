"""The hub: one per OS thread, the only code that switches between green threads.

A hub is a composition: a ready queue and the loop that drains it (here), a
timer heap (``_timers``), an I/O manager (``_io``: fd waits, the poller, the
cross-thread wake-up; chosen by name at creation), and the parking state
machine every wait goes through (``_parking``). A green thread that must wait
parks: it marks its record PARKED, optionally sets a timer, and switches away.

One pass of the loop (``run_pass``) is four steps: poll I/O, fire due timers,
run queued callbacks, then resume exactly the threads that were ready when
the resume step began, so a green thread looping on ``sleep(0)`` cannot
starve sockets or timers. A parking thread may resume the next ready one
itself instead of going through the hub (direct hand-off, in
``_parking.suspend``), within that pass's budget. The hub's greenlet runs
passes back to back (``_run``); a driver that owns the real loop (asyncio)
calls ``run_pass`` from its own callbacks instead.

Time is one setting: ``clock`` (monotonic unless a test installs a virtual
clock with ``set_clock``) is what deadlines are read against, and the clock's
``advance`` is called at one point only, where the hub would otherwise
sleep (``_sleep``): nothing in the busy path checks which clock is in use.

Green threads started by ``spawn`` run on pooled worker greenlets the hub
owns (``_tasks.Workers``).
"""

from __future__ import annotations

import atexit
import logging
import os
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Final

from greenlet import GreenletExit, greenlet
from greenlet import getcurrent as _getcurrent

from . import _introspect, _parking, _stdlib, _threadhub
from ._errors import CrossThreadError, DeadlockError, cross_thread_message
from ._io import IOManager, make_io_manager
from ._parking import PARKED, Parked, park
from ._tasks import Task, Workers
from ._timeouts import check_timeout
from ._timers import Timer, TimerHeap
from ._wakers import other_threads_alive, python_signal_handlers

if TYPE_CHECKING:
    from ._hooks import Clock

__all__ = ["Hub"]

log = logging.getLogger("greenlane.hub")

# Past a pass's budget a parking thread may still hand off directly this many
# times while no fd is watched: only timers can then wait, by at most this many
# switches (~30 us), and a ping-pong between two threads skips the hub. A pass
# that starts with an fd watched gets none; an fd wait during the pass ends them
# (``_parking.suspend``).
SPARE_HANDOFFS: Final = 32


class Hub:
    """The scheduler of one OS thread: ready queue, timers, an I/O manager, wake-ups."""

    # Called with every new hub when set (``observe_new_hubs``: greenlane.debug's blocking detector).
    on_new: ClassVar[Callable[[Hub], object] | None] = None
    # Wraps every ``call_later`` callback when set (``wrap_timer_callbacks``: eventlet's timer stacks).
    timer_wrapper: ClassVar[Callable[[Callable[..., Any]], Callable[..., Any]] | None] = None
    # Log exceptions escaping callbacks at ERROR (eventlet's flag); off, at DEBUG: never silenced.
    debug_exceptions: bool = True

    # The fd calls, bound to the I/O manager's at creation (see ``_io``).
    wait_fd: Callable[..., bool]
    wait_fd_or_close: Callable[..., bool]
    notify_close: Callable[[int], None]
    release_fd: Callable[[int], None]

    def __init__(self, poller: str | None = None) -> None:
        self.ident = _stdlib.get_ident()
        self.closed = False
        root = _getcurrent()
        while root.parent is not None:
            root = root.parent
        self.root: greenlet = root
        self.greenlet: greenlet = greenlet(self._run, root)  # an I/O manager may replace it
        self.io: IOManager = make_io_manager(self, poller or _threadhub.preferred_io())
        # The run queues: deques, or the I/O manager's deque subclass (see _io, run_queue).
        queue: type[deque[Any]] = getattr(self.io, "run_queue", deque)
        # Records of green threads to resume (see Parked.resume).
        self._ready: deque[Parked] = queue()
        # Callbacks to run in the hub: (callback, args).
        self._calls: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = queue()
        # Resumes left in this pass; a parking thread may run one directly (_parking.suspend).
        self._budget = 0
        self._spare = 0
        self._timers = TimerHeap()
        self._xthread: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()
        self._pending_external = 0
        # True while asleep in io.poll (read by other threads); a driver sleeping elsewhere sets it.
        self.polling = False
        self._workers = Workers(self)  # the pooled greenlets that run spawned tasks
        self._start = self._workers.start
        # Unchanged while not polling: nobody switched (the blocking detector's test, from its thread).
        self._switches = 0
        self._passes = 0
        # Wall-clock accounting (statistics(); a parked record's ``since``).
        self._created = _stdlib.monotonic()
        self._pass_start = self._created
        self._poll_time = 0.0
        self._longest_pass = 0.0
        self.clock: Callable[[], float] = _stdlib.monotonic
        self._advance: Callable[[float], object] | None = None
        root.rec = Parked(self, root)  # type: ignore[attr-defined]
        io = self.io
        self.wait_fd, self.wait_fd_or_close = io.wait_fd, io.wait_fd_or_close
        self.notify_close, self.release_fd = io.notify_close, io.release_fd
        if Hub.on_new is not None:
            Hub.on_new(self)

    # -- scheduling -------------------------------------------------------

    def call_soon(self, callback: Callable[..., Any], /, *args: Any) -> None:
        """Run ``callback(*args)`` in the hub on its next pass (from the hub's own thread)."""
        self.check_thread("call_soon")
        self._calls.append((callback, args))

    def call_later(self, delay: float, callback: Callable[..., Any], /, *args: Any) -> Timer:
        """Run ``callback(*args)`` in the hub after ``delay`` seconds; returns a cancellable timer."""
        self.check_thread("call_later")
        delay = check_timeout(delay, "delay")
        if Hub.timer_wrapper is not None:
            callback = Hub.timer_wrapper(callback)
        return Timer(self._timers, self._timers.add(self.clock() + delay, callback, args))

    def call_soon_threadsafe(self, callback: Callable[..., Any], /, *args: Any) -> None:
        """Run ``callback(*args)`` in this hub's thread; the one safe way in from another OS thread."""
        self._xthread.append((callback, args))
        if self.polling:
            self.io.wake()

    def hold_external(self) -> None:
        """Record work pending in another OS thread that will call back into this hub.

        While any is held the hub never reports a deadlock (the work may still
        wake someone). Pair every call with ``release_external``.
        """
        self.check_thread("hold_external")
        self._pending_external += 1

    def release_external(self) -> None:
        """End one ``hold_external``; callable from any OS thread."""
        if _stdlib.get_ident() != self.ident:
            self.call_soon_threadsafe(self.release_external)
        else:
            self._pending_external -= 1

    def start_task(self, task: Task) -> None:
        """Queue ``task`` to start on a worker greenlet on the next pass."""
        self._workers.alive += 1
        self._calls.append((self._start, (task,)))

    # -- parking (the transitions are _parking's) ---------------------------

    def park(
        self,
        reason: str,
        timeout: float | None = None,
        queue: deque[Parked] | None = None,
        on_abandon: Callable[[Any], object] | None = None,
    ) -> Any:
        """Suspend the calling green thread (of this hub's thread); see ``_parking.park``."""
        self.check_thread(reason)
        return park(reason, timeout, queue, on_abandon)

    def record_of_hub_greenlet(self) -> Parked:
        """A wait in the hub's own greenlet: refused (a driver's hub may hand its greenlet over)."""
        raise RuntimeError("cannot block in the hub greenlet")

    unpark = _parking.unpark
    throw = _parking.throw
    yield_now = _parking.yield_now

    # -- what it shows (read-only views: _introspect) ---------------------------

    statistics = _introspect.statistics
    timers = _introspect.timers
    timer_counts = _introspect.timer_counts
    timer_entries = _introspect.timer_entries
    queued_tasks = _introspect.queued_tasks
    fd_waiters = _introspect.fd_waiters
    progress = _introspect.progress
    busy = _introspect.busy

    @property
    def poller_name(self) -> str:
        """Which I/O manager this hub runs on (``epoll``, ``poll``, ``select``...)."""
        return self.io.name

    # -- the loop ---------------------------------------------------------

    def run_pass(self, poll: bool = True) -> None:
        """One pass of the loop: poll I/O, fire due timers, run callbacks, resume the ready.

        ``poll=False`` skips step 1 (a driver whose own loop already polled).
        Runs in the hub's greenlet; an exception from a callback propagates
        (``_run`` reports it, see ``report``).
        """
        callback: Any
        args: Any
        ready, calls, timers = self._ready, self._calls, self._timers
        # 0. The pass that just ended: one clock read per pass (it also
        #    serves step 2), for statistics() and parked records' ``since``.
        now = _stdlib.monotonic()
        if now > self._pass_start + self._longest_pass:  # (max() costs a call)
            self._longest_pass = now - self._pass_start
        self._passes += 1
        # 1. Poll I/O: without waiting if something is ready, else until the next timer.
        if poll:
            if ready or calls:
                if self.io.readers or self.io.writers:
                    self.io.poll(0.0)
                if self._xthread:
                    self._drain_xthread()
            else:
                self._sleep(self.idle_timeout())
                now = _stdlib.monotonic()
        elif self._xthread:
            self._drain_xthread()
        self._pass_start = now
        # 2. Fire due timers (their callbacks only mark threads ready).
        if timers._heap:
            now = self.clock()
            if timers._heap[0] <= now:
                timers.run_due(now)
        # 3. Run the queued callbacks (spawns, cross-thread calls, call_soon).
        if calls:
            next_call = calls.popleft
            for _ in range(len(calls)):
                callback, args = next_call()
                callback(*args)
            callback = args = None  # the resumed threads must not find their task held here
        # 4. Resume the threads ready now; what they make ready waits a pass.
        #    A parking thread may resume the next one itself (direct hand-off,
        #    _parking.suspend): it spends this pass's budget, then a few spares
        #    when no fd is watched.
        self._budget = len(ready)
        io = self.io
        self._spare = 0 if io.readers or io.writers else SPARE_HANDOFFS  # (an fd wait zeroes it)
        self._switches += self._budget
        next_resume = ready.popleft
        while self._budget > 0:
            self._budget -= 1
            rec = next_resume()
            rec.resume(rec.value)
        self._spare = 0

    def _run(self) -> None:
        run_pass = self.run_pass
        self._pass_start = _stdlib.monotonic()
        while True:
            try:
                while True:
                    run_pass()
            except GreenletExit:
                raise  # the hub itself is being collected
            except BaseException as exc:  # the hub's single catch-all
                self.report(exc)

    def report(self, exc: BaseException) -> None:
        """An exception escaped a pass: re-raise an interrupt in the main green thread, log the rest."""
        self._budget = self._spare = 0
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            self.throw(self.root, exc, front=True)
        else:
            report = log.error if self.debug_exceptions else log.debug  # never silenced
            report("greenlane hub: unhandled error in a callback", exc_info=exc)

    def idle_timeout(self) -> float | None:
        """How long the hub may sleep now (None: until woken); reports a deadlock, advances a test clock."""
        if self._xthread or self._ready or self._calls:
            return 0.0
        deadline = self._timers.next_deadline()
        only_timers = not (self.io.readers or self.io.writers or self._pending_external)
        if deadline is None:
            if only_timers and not other_threads_alive() and not python_signal_handlers(self.ident):
                self._deadlock()
                return 0.0
            return None
        if self._advance is not None and only_timers:
            self._advance(max(0.0, deadline - self.clock()))  # nothing else can happen first
            return 0.0
        return max(0.0, deadline - self.clock())

    def _sleep(self, timeout: float | None) -> None:
        """Step 1 when nothing is ready: poll up to ``timeout``, counting the time asleep."""
        if timeout == 0.0:
            self.io.poll(0.0)
        else:
            self.polling = True
            try:
                if self._xthread:  # queued before polling was set: it did not wake us
                    timeout = 0.0
                start = _stdlib.monotonic()
                self.io.poll(timeout)
                slept = _stdlib.monotonic() - start
                self._poll_time += slept
                if self._advance is not None:
                    self._advance(slept)
            finally:
                self.polling = False
        if self._xthread:
            self._drain_xthread()

    def _drain_xthread(self) -> None:
        xthread, append = self._xthread, self._calls.append
        while xthread:
            append(xthread.popleft())

    def _deadlock(self) -> None:
        rec: Parked | None = getattr(self.root, "rec", None)
        if rec is None or rec.state != PARKED:
            raise RuntimeError(f"greenlane hub: idle while the main green thread is not parked: {rec!r}")
        others = self._workers.alive
        self.throw(
            self.root,
            DeadlockError(
                f"the main green thread waits on {rec.reason} forever: nothing is ready, no timer is "
                f"pending, no fd is watched and no other OS thread has work pending "
                f"({others} other green thread{'s' if others != 1 else ''} also blocked)"
            ),
        )

    # -- settings and life ----------------------------------------------------

    def set_clock(self, clock: Clock | None) -> None:
        """Read time from ``clock`` (None: back to monotonic); only while no timer is pending."""
        if len(self._timers):
            raise RuntimeError(f"install the clock before setting timers: {self!r}")
        self.clock = _stdlib.monotonic if clock is None else clock.now
        self._advance = None if clock is None else clock.advance

    def has_work(self) -> bool:
        """True if anything is ready, queued, timed, waited on an fd, or a green thread lives."""
        return bool(
            self._ready or self._calls or len(self._timers) or self.io.readers or self.io.writers
            or self._workers.alive
        )

    def discard_work(self) -> None:
        """Forget every pending wait, timer and callback (a test harness after a failed test)."""
        self._ready.clear()
        self._calls.clear()
        self._timers.clear()
        self.io.clear()
        self._workers.alive = 0

    def check_thread(self, what: str) -> None:
        """``CrossThreadError`` naming ``what`` unless called from this hub's OS thread."""
        if self.ident != _stdlib.get_ident():
            raise CrossThreadError(cross_thread_message(what))

    def after_fork(self) -> None:
        """In a forked child: this thread owns the hub; work of threads that did not survive is gone."""
        self.ident = _stdlib.get_ident()
        self.io.after_fork()
        self._xthread.clear()
        self._pending_external = 0

    def close(self) -> None:
        """Release the I/O manager (the hub must be idle)."""
        self.closed = True
        self.io.close()

    def __repr__(self) -> str:
        s = self.statistics()
        return (
            f"<Hub {self.io.name} thread={self.ident} ready={s.ready} timers={s.timers} "
            f"readers={s.readers} writers={s.writers} green_threads={s.green_threads}>"
        )


_threadhub.set_hub_class(Hub)


def _after_fork_in_child() -> None:
    hub = _threadhub.existing_hub()
    if hub is not None:
        hub.after_fork()


def _at_exit() -> None:
    # At interpreter exit greenlet kills the green threads still parked, by
    # throwing GreenletExit into each; a worker ending that way must simply
    # finish, not park again in a hub that will never run.
    hub = _threadhub.existing_hub()
    if hub is not None:
        hub.closed = True


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_at_exit)
