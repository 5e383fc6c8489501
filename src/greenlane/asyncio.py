"""Green threads and asyncio coroutines calling each other, on one OS thread and one event loop.

The asyncio hub (``greenlane.hubs.asyncio``) runs greenlane's green threads
inside an asyncio event loop, so both kinds of code share one thread and one
poller. This module is the crossing, in both directions:

- from green code, ``await_(awaitable)`` runs the awaitable as an asyncio
  task and blocks only the calling green thread until it is done;
- from a coroutine, ``await green(fn, *args)`` runs ``fn`` in a new green
  thread (started at once) and waits for its result; a ``GreenThread`` is
  awaitable too.

Cancellation crosses both ways, with one rule: whoever *owns* the other side
may stop it. ``green()`` creates the green thread for the Future it returns,
so cancelling that Future (or a task awaiting it) kills the thread. Awaiting
an existing ``GreenThread`` only watches it: cancelling the awaiting task
stops the wait and leaves the thread running. ``await_`` creates the task it
waits for, so killing the green thread (``kill``, a ``Timeout``) cancels that
task. Exceptions cross with their tracebacks; ``contextvars`` are carried
across (each side runs in a copy of the caller's context, as an asyncio task
does); a greenlane ``Timeout`` bounds ``await_``, and ``asyncio.timeout``
bounds ``await green(...)``.

Three ways to start, all on one loop:

- ``asyncio.run(main())`` and no greenlane setup: the first greenlane call
  inside the loop makes this thread's hub an asyncio hub attached to it;
- ``hubs.use_hub("asyncio")`` and then ``asyncio.run(main())``: the same;
- ``hubs.use_hub("asyncio")`` (or ``GREENLANE_HUB=asyncio``) and green code
  only: greenlane starts the loop itself (``use_hub(..., loop_factory=
  uvloop.new_event_loop)`` picks uvloop) and coroutines reach it through
  ``await_``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from greenlet import getcurrent

from ._core import WaitQueue, check_hub_idle, current_hub, get_hub, reset_thread_hub
from .greenthread import GreenThread, spawn
from .hubs.asyncio import Hub as AsyncioHub

__all__ = ["await_", "green", "spawn_for_awaitable", "wait_green_thread"]

T = TypeVar("T")
P = ParamSpec("P")

_NATIVE_HUB = (
    "needs the asyncio hub, and this thread runs greenlane's native hub: call "
    "greenlane.hubs.use_hub('asyncio') before any green thread starts, set GREENLANE_HUB=asyncio, "
    "or run the program under asyncio.run()"
)


def _close(awaitable: object) -> None:
    """Close a coroutine that will never be awaited (it would warn when collected)."""
    if asyncio.iscoroutine(awaitable):
        awaitable.close()


def await_(awaitable: Awaitable[T]) -> T:
    """Run ``awaitable`` on the hub's event loop; block only the calling green thread until done.

    A coroutine becomes an asyncio task (in a copy of the green thread's
    context); a Future or Task is waited for. Returns its result or raises
    its exception, traceback included. Killing the green thread meanwhile
    (``kill``, a ``Timeout``) cancels the task and raises in the green thread.
    """
    hub = current_hub()
    if not isinstance(hub, AsyncioHub):
        _close(awaitable)
        raise RuntimeError(f"await_({awaitable!r}) {_NATIVE_HUB}")
    if getcurrent() is hub.greenlet:
        _close(awaitable)
        raise RuntimeError(
            f"await_({awaitable!r}) was called in the event loop itself (a coroutine or a loop "
            "callback), where it would block the loop: use `await` there, or run the blocking "
            "code in a green thread with `await greenlane.asyncio.green(fn)`"
        )
    loop = hub.io.loop_for_work()
    future = asyncio.ensure_future(awaitable, loop=loop)
    if not future.done():
        waiters = WaitQueue()
        future.add_done_callback(lambda _done: waiters.unpark_one(None))
        hub.hold_external()  # the loop may still finish it: never a deadlock meanwhile
        try:
            waiters.park(None, f"await_ {awaitable!r}")
        except BaseException:
            future.cancel()
            raise
        finally:
            hub.release_external()
    return future.result()


def green(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> asyncio.Future[T]:
    """From a coroutine: run ``fn(*args, **kwargs)`` in a new green thread, started at once.

    Returns an asyncio Future of its result (its exception, traceback
    included). Cancelling the Future, or a task awaiting it, kills the
    green thread. ``fn`` may block in greenlane's way (sockets, locks,
    ``sleep``) without blocking the loop.
    """
    if not callable(fn):
        raise TypeError(f"green() needs a callable, not {fn!r}")
    hub, loop = _hub_of_running_loop("green()")
    gt: GreenThread[T] = GreenThread(fn, args, kwargs)
    gt._home = hub
    future: _GreenFuture[T] = _GreenFuture(loop=loop)
    future.thread = gt
    gt.link(_settle, future)
    hub.start_now(gt)
    return future


def spawn_for_awaitable(awaitable: Awaitable[T]) -> GreenThread[T]:
    """eventlet's: a green thread that runs ``awaitable`` with ``await_``; killing it cancels the task."""
    hub = current_hub()
    if not isinstance(hub, AsyncioHub):
        _close(awaitable)
        raise RuntimeError(f"spawn_for_awaitable({awaitable!r}) {_NATIVE_HUB}")
    return spawn(await_, awaitable)


async def wait_green_thread(gt: GreenThread[T]) -> T:
    """What ``await gt`` does: wait for ``gt`` to end and give its outcome; a cancel leaves it running."""
    return await gt


def _hub_of_running_loop(what: str) -> tuple[AsyncioHub, asyncio.AbstractEventLoop]:
    """The asyncio hub running on the loop that runs the caller (attached now if need be)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeError(
            f"{what} is called from a coroutine (or a loop callback); no asyncio event loop runs "
            "here: from green code use greenlane.spawn(), or await_() to call a coroutine"
        ) from None
    hub = get_hub()
    if not isinstance(hub, AsyncioHub):
        try:
            check_hub_idle()
        except RuntimeError:
            raise RuntimeError(
                f"{what} {_NATIVE_HUB} (its native hub already has work: {hub!r})"
            ) from None
        reset_thread_hub()  # idle: the next one is made for the running loop
        hub = get_hub()
        if not isinstance(hub, AsyncioHub):
            raise RuntimeError(f"{what} {_NATIVE_HUB} (GREENLANE_HUB or use_hub chose it)")
    hub.io.loop_for_work()
    if getcurrent() is not hub.greenlet or hub.loop is not loop:
        raise RuntimeError(
            f"{what} is called from a coroutine running on the hub's event loop; "
            "from a green thread use greenlane.spawn() instead"
        )
    return hub, loop


def _settle(gt: GreenThread[T], future: asyncio.Future[T]) -> None:
    """A link of a ``green()`` thread: hand its outcome to the Future."""
    if future.done():
        return
    if gt.cancelled():
        future.cancel()
        return
    exc = gt.exception()
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(gt.result())


class _GreenFuture(asyncio.Future[T]):
    """What ``green()`` returns: cancelling it kills its green thread at once.

    At once, not from a done-callback (those run a loop turn later): code that
    cancels and then closes what the thread waits on (its listening socket)
    must find the kill already on its way.
    """

    thread: GreenThread[T] | None = None

    def cancel(self, msg: Any = None) -> bool:
        cancelled = super().cancel(msg)
        gt = self.thread
        if cancelled and gt is not None and not gt.dead:
            gt.kill()
        return cancelled
