"""oslo.service's ``ThreadGroup``: green threads and looping-call timers stopped and waited for together.

A service keeps its workers in one group: ``add_thread`` runs a function in
the group's ``GreenPool`` (waiting while the pool is full), ``add_timer`` and
``add_dynamic_timer`` start looping calls, and shutdown is ``stop()`` (kill
the threads, stop the timers) or ``stop(graceful=True)`` (let them finish),
then ``wait()``.

As in oslo, the verbs differ for threads and timers: ``stop`` kills threads
but only asks timers not to run again (a run in progress finishes); a
stopped timer leaves ``timers`` (``stop_timers``), a finished thread leaves
``threads`` by itself (``thread_done``). Every call that acts on "all the
threads" skips the calling green thread, so a thread of the group may stop or
wait for the group; a timer's callback may do the same (oslo waited for the
calling timer itself and hung).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, ParamSpec, TypeVar

from greenlet import GreenletExit

from ._core import check_timeout
from .greenpool import GreenPool
from .greenthread import GreenThread, getcurrent, sleep
from .hubs import get_hub
from .loopingcall import DynamicLoopingCall, FixedIntervalLoopingCall, LoopingCallBase

__all__ = ["Thread", "ThreadGroup"]

P = ParamSpec("P")
T = TypeVar("T")

LOG = logging.getLogger("greenlane.threadgroup")

# oslo's default: a group runs at most this many threads at once.
DEFAULT_THREAD_POOL_SIZE: Final = 10


def _on_thread_done(_gt: GreenThread[Any], group: ThreadGroup, thread: Thread) -> None:
    group.thread_done(thread)


class Thread:
    """A green thread of a ``ThreadGroup`` (oslo's wrapper; the ``GreenThread`` is ``thread``)."""

    __slots__ = ("_ident", "thread")

    def __init__(self, thread: GreenThread[Any], group: ThreadGroup, link: bool = True) -> None:
        self.thread = thread
        if link:
            thread.link(_on_thread_done, group, self)
        self._ident = id(thread)

    @property
    def ident(self) -> int:
        """An id of the green thread, as ``id(greenthread.getcurrent())`` gives inside it."""
        return self._ident

    def stop(self) -> None:
        """Kill the thread (raise ``GreenletExit`` in it)."""
        self.thread.kill()

    def wait(self) -> Any:
        """Wait for the thread to end; return its result or raise its exception."""
        return self.thread.wait()

    def link(self, func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        """Call ``func(greenthread, *args, **kwargs)`` when the thread ends."""
        self.thread.link(func, *args, **kwargs)

    def cancel(self, *throw_args: Any) -> bool:
        """Keep the thread from running if it has not started yet; True if it was stopped."""
        return self.thread.cancel(*throw_args)

    def __repr__(self) -> str:
        return f"<Thread {self.thread!r}>"


def _in_current(timer: LoopingCallBase) -> bool:
    """True if the calling green thread is ``timer``'s loop."""
    return timer._thread is not None and timer._thread is getcurrent()


class ThreadGroup:
    """Green threads and timers managed as one (oslo.service's ``ThreadGroup``)."""

    def __init__(self, thread_pool_size: int = DEFAULT_THREAD_POOL_SIZE) -> None:
        self.pool = GreenPool(thread_pool_size)
        self.threads: list[Thread] = []
        self.timers: list[LoopingCallBase] = []

    # -- timers -----------------------------------------------------------

    def add_dynamic_timer(
        self,
        callback: Callable[..., Any],
        initial_delay: float | None = None,
        periodic_interval_max: float | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> DynamicLoopingCall:
        """Start a ``DynamicLoopingCall`` of ``callback``: its return value is the next sleep.

        Arguments for the callback after the options are deprecated (as in
        oslo): use ``add_dynamic_timer_args``.
        """
        if args or kwargs:
            warnings.warn(
                "Calling add_dynamic_timer() with arguments to the callback function is deprecated. "
                "Use add_dynamic_timer_args() instead.",
                DeprecationWarning,
                stacklevel=2,
            )
        return self.add_dynamic_timer_args(
            callback, args, kwargs, initial_delay=initial_delay, periodic_interval_max=periodic_interval_max
        )

    def add_dynamic_timer_args(  # noqa: PLR0917  # oslo's signature
        self,
        callback: Callable[..., Any],
        args: Iterable[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        initial_delay: float | None = None,
        periodic_interval_max: float | None = None,
        stop_on_exception: bool = True,
    ) -> DynamicLoopingCall:
        """Start a ``DynamicLoopingCall`` of ``callback(*args, **kwargs)`` and add it to ``timers``."""
        timer = DynamicLoopingCall(callback, *(args or ()), **(kwargs or {}))
        timer.start(
            initial_delay=initial_delay,
            periodic_interval_max=periodic_interval_max,
            stop_on_exception=stop_on_exception,
        )
        self.timers.append(timer)
        return timer

    def add_timer(
        self,
        interval: float,
        callback: Callable[..., Any],
        initial_delay: float | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> FixedIntervalLoopingCall:
        """Start a ``FixedIntervalLoopingCall`` of ``callback`` every ``interval`` seconds.

        Arguments for the callback after the options are deprecated (as in
        oslo): use ``add_timer_args``. A bad ``interval`` is accepted here and
        ends the timer with a ``TypeError`` naming it (see ``loopingcall``).
        """
        if args or kwargs:
            warnings.warn(
                "Calling add_timer() with arguments to the callback function is deprecated. "
                "Use add_timer_args() instead.",
                DeprecationWarning,
                stacklevel=2,
            )
        return self.add_timer_args(interval, callback, args, kwargs, initial_delay=initial_delay)

    def add_timer_args(  # noqa: PLR0917  # oslo's signature
        self,
        interval: float,
        callback: Callable[..., Any],
        args: Iterable[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        initial_delay: float | None = None,
        stop_on_exception: bool = True,
    ) -> FixedIntervalLoopingCall:
        """Start a ``FixedIntervalLoopingCall`` of ``callback(*args, **kwargs)``; add it to ``timers``."""
        pulse = FixedIntervalLoopingCall(callback, *(args or ()), **(kwargs or {}))
        pulse.start(interval=interval, initial_delay=initial_delay, stop_on_exception=stop_on_exception)
        self.timers.append(pulse)
        return pulse

    def timer_done(self, timer: LoopingCallBase) -> None:
        """Remove ``timer`` from the group (it keeps running if not stopped)."""
        self.timers.remove(timer)

    def stop_timers(self, wait: bool = False) -> None:
        """Stop every timer and empty ``timers``; runs in progress finish.

        With ``wait=True``, first wait for the timers' loops to end (the
        calling timer's own loop excepted).
        """
        for timer in self.timers:
            timer.stop()
        if wait:
            self._wait_timers()
        self.timers = []

    def _wait_timers(self) -> None:
        for timer in self.timers[:]:
            if _in_current(timer):
                continue
            try:
                timer.wait()
            except GreenletExit:
                pass
            except Exception:
                LOG.exception("Error waiting on timer.")

    # -- threads ----------------------------------------------------------

    def add_thread(self, callback: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Thread:
        """Run ``callback(*args, **kwargs)`` in the group's pool (waiting while it is full).

        Returns before the new thread has run. The thread leaves ``threads``
        when it ends.
        """
        gt = self.pool.spawn(callback, *args, **kwargs)
        thread = Thread(gt, self, link=False)
        self.threads.append(thread)
        gt.link(_on_thread_done, self, thread)
        return thread

    def thread_done(self, thread: Thread) -> None:
        """Remove an ended thread from ``threads`` (called by the thread's link)."""
        try:
            self.threads.remove(thread)
        except ValueError:  # removed already (called twice): nothing left to do
            pass

    def _perform_action_on_threads(
        self, action: Callable[[Thread], object], on_error: Callable[[Thread], object]
    ) -> None:
        me = id(getcurrent())
        for thread in self.threads[:]:  # a copy: thread_done removes while we iterate
            if thread.ident == me:
                continue
            try:
                action(thread)
            except GreenletExit:
                pass
            except Exception:
                on_error(thread)

    def _stop_threads(self) -> None:
        self._perform_action_on_threads(lambda t: t.stop(), lambda t: LOG.exception("Error stopping thread."))

    def _wait_threads(self) -> None:
        self._perform_action_on_threads(
            lambda t: t.wait(), lambda t: LOG.exception("Error waiting on thread.")
        )

    def _any_threads_alive(self) -> bool:
        me = id(getcurrent())
        return any(t.ident != me and not t.thread.dead for t in self.threads[:])

    # -- the group --------------------------------------------------------

    def stop(self, graceful: bool = False) -> None:
        """Stop the timers, and kill the threads (or, ``graceful``, wait for both to finish).

        Not graceful: returns without waiting for timer runs in progress or for
        killed threads that keep running; ``wait()`` waits for them. The
        calling green thread is never killed or waited for.
        """
        self.stop_timers(wait=graceful)
        if graceful:
            self._wait_threads()
        else:
            self._stop_threads()

    def wait(self) -> None:
        """Wait for the timers (stop them first, or this waits forever) and then the threads.

        Exceptions of the threads and timers are logged, not raised.
        """
        self._wait_timers()
        self._wait_threads()

    def cancel(self, *throw_args: Any, timeout: float | None = None, wait_time: float = 1) -> None:
        """Keep threads that have not started from running; with ``timeout``, stop the rest after it.

        ``throw_args`` is what ``wait()`` of a cancelled thread raises. Without
        ``timeout`` running threads and timers are left alone. With it, the
        group checks every ``wait_time`` seconds whether threads are still
        running, and once ``timeout`` seconds have passed calls ``stop()``
        (which kills them and stops the timers) and returns. If every thread
        ends first, the timers keep running.
        """
        self._perform_action_on_threads(
            lambda t: t.cancel(*throw_args), lambda t: LOG.exception("Error canceling thread.")
        )
        if timeout is None:
            return
        timeout = check_timeout(timeout, "ThreadGroup.cancel() timeout")
        wait_time = check_timeout(wait_time, "ThreadGroup.cancel() wait_time", negative=False)
        hub = get_hub()
        deadline = hub.clock() + timeout
        while self._any_threads_alive():
            left = deadline - hub.clock()
            if left > 0:
                sleep(min(wait_time, left))
                continue
            LOG.debug("Cancel timeout reached, stopping threads.")
            self.stop()
            return

    def __repr__(self) -> str:
        return (
            f"<ThreadGroup threads={len(self.threads)} timers={len(self.timers)} "
            f"pool={self.pool.running()}/{self.pool.size}>"
        )
