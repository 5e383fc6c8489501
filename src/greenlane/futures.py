"""``concurrent.futures`` for green threads: an executor, and ``wait``/``as_completed`` that park.

**The future type.** ``GreenThreadPoolExecutor.submit`` returns a
``GreenFuture``, a subclass of ``concurrent.futures.Future``: code that checks
``isinstance(f, Future)``, or hands it to ``asyncio.wrap_future``, keeps
working. The stdlib ``Future`` waits on a ``threading.Condition``, which would
block the whole OS thread, hub included, and so deadlock: ``GreenFuture``
overrides ``result`` and ``exception`` to first park the calling *green
thread* on a greenlane ``WaitQueue`` that ``set_result``/``set_exception``/
``cancel`` wake; once the future is done the stdlib code runs and returns at
once. Only green threads of the future's home hub (the executor's) park that
way; any other OS thread, native or with a hub of its own, waits on the
stdlib's condition, which the home hub notifies. As everywhere in greenlane,
an exception nobody retrieved (``result``/``exception``) is logged (logger
``greenlane.futures``) when the future is collected.

**The executor** never blocks in ``submit``: work goes to a FIFO queue, and a
worker green thread is started while fewer than ``max_workers`` run. A worker
takes items until the queue is empty, yielding between items so a long queue
cannot starve the other green threads, then exits: an idle executor holds no
green thread. Each item runs in a copy of the submitter's ``contextvars``
context (greenlane's ``spawn`` rule). ``KeyboardInterrupt``/``SystemExit`` in
an item are set on its future and also reach the main green thread. An
executor belongs to the hub of the thread that first submits to it.

**wait / as_completed** accept greenlane futures, ``GreenThread`` s (which
answer the same calls) and plain ``concurrent.futures.Future`` s, mixed. They
register a done-callback (``add_done_callback``/``link``) that unparks the
waiting green thread, and remove it when they return. A callback arriving from
another OS thread (a real ``ThreadPoolExecutor``'s future) is handed to this
hub with ``call_soon_threadsafe``, and while such a future is pending the hub
is told that outside work is on its way (``hold_external``), so it neither
reports a deadlock nor jumps a virtual clock past the wait. A
future counts as completed once ``done()`` is true, cancelled ones included,
so a future cancelled before it ran never makes ``wait`` hang. Timeouts use
the hub's clock (virtual in tests); ``wait`` returns at its timeout, and
``as_completed`` and ``Executor.map`` raise ``TimeoutError`` as the stdlib's do.
Use these two, not ``concurrent.futures.wait``/``as_completed``, in green
threads: the stdlib's wait on a ``threading`` lock and would block the hub.
"""

from __future__ import annotations

import contextvars
import logging
import operator
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import (
    ALL_COMPLETED,
    FIRST_COMPLETED,
    FIRST_EXCEPTION,
    CancelledError,
    Executor,
    Future,
)
from concurrent.futures import TimeoutError as FuturesTimeoutError
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, ParamSpec, Protocol, TypeVar, overload

from greenlet import GreenletExit

from ._core import (
    TIMED_OUT,
    CrossThreadError,
    Hub,
    WaitQueue,
    check_timeout,
    current,
    existing_hub,
    get_hub,
    get_ident,
    is_main_thread,
    park,
)
from .greenthread import GreenThread, sleep, spawn_n

__all__ = [
    "ALL_COMPLETED",
    "FIRST_COMPLETED",
    "FIRST_EXCEPTION",
    "CancelledError",
    "DoneAndNotDoneFutures",
    "GreenFuture",
    "GreenThreadPoolExecutor",
    "TimeoutError",
    "as_completed",
    "wait",
]

TimeoutError = FuturesTimeoutError  # the stdlib's name in this namespace

T = TypeVar("T")
P = ParamSpec("P")

log = logging.getLogger("greenlane.futures")

_RETURN_WHEN = (FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED)


class FutureLike(Protocol):
    """What ``wait``/``as_completed`` need: a ``Future`` or a ``GreenThread``."""

    def done(self) -> bool: ...
    def cancelled(self) -> bool: ...
    def add_done_callback(self, fn: Callable[[Any], object]) -> None: ...


F = TypeVar("F", bound=FutureLike)

if TYPE_CHECKING or sys.version_info >= (3, 11):

    class DoneAndNotDoneFutures(NamedTuple, Generic[F]):
        """What ``wait`` returns: the futures done, and those not done, when it returned."""

        done: set[F]
        not_done: set[F]

else:  # generic NamedTuples need Python 3.11

    class DoneAndNotDoneFutures(NamedTuple):
        """What ``wait`` returns: the futures done, and those not done, when it returned."""

        done: set[Any]
        not_done: set[Any]


# -- the future ---------------------------------------------------------------


class GreenFuture(Future[T]):
    """A ``concurrent.futures.Future`` whose ``result``/``exception`` park only the calling green thread."""

    def __init__(self, home: Hub | None = None) -> None:
        super().__init__()
        # The hub whose green threads park on _green_waiters; None until one
        # waits (a future made by an executor gets the executor's).
        self._home = home
        self._green_waiters = WaitQueue()
        self._retrieved = False

    def _wait_green(self, timeout: float | None) -> float | None:
        """Park until done if the caller is a green thread of the home hub.

        Returns the timeout left for the stdlib's own wait (which then returns
        at once if the future is done); raises ``TimeoutError`` if it passed.
        """
        if timeout is not None:
            timeout = check_timeout(timeout, "GreenFuture timeout")
        home = self._home
        if home is None:
            home = existing_hub()
            if home is None:
                return timeout  # a native thread: the stdlib's wait is the right one
            self._home = home  # before reading the state: see _wake
        elif home.ident != get_ident():
            return timeout
        if self.done():
            return timeout
        if timeout is not None and timeout <= 0:
            raise FuturesTimeoutError(f"{self!r} is not done")
        if self._green_waiters.park(timeout, "future") is TIMED_OUT:
            raise FuturesTimeoutError(f"{self!r} did not finish within {timeout} seconds")
        return 0

    def result(self, timeout: float | None = None) -> T:
        """The result; raises its exception, ``CancelledError`` or ``TimeoutError`` (after ``timeout``)."""
        timeout = self._wait_green(timeout)
        self._retrieved = True
        return super().result(timeout)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """The exception it ended with, or None; raises ``CancelledError`` or ``TimeoutError``."""
        timeout = self._wait_green(timeout)
        self._retrieved = True
        return super().exception(timeout)

    def set_result(self, result: T) -> None:
        """Finish with ``result``: wakes every waiter and runs the done-callbacks."""
        super().set_result(result)
        self._wake()

    def set_exception(self, exception: BaseException | None) -> None:
        """Finish with ``exception``: wakes every waiter and runs the done-callbacks."""
        super().set_exception(exception)
        self._wake()

    def cancel(self) -> bool:
        """Cancel it unless it is running or done; True if it is (now) cancelled."""
        if not super().cancel():
            return False
        self._wake()
        return True

    def _wake(self) -> None:
        # Runs after the state changed. A green waiter records its home before
        # it reads the state, so either it sees the future done, or we see the
        # home here and wake it (in its own thread).
        home = self._home
        if home is None:
            return
        if home.ident == get_ident():
            self._green_waiters.unpark_all()
        else:
            home.call_soon_threadsafe(self._green_waiters.unpark_all)

    def __del__(self) -> None:
        exc = self._exception
        if exc is None or self._retrieved or isinstance(exc, GreenletExit):
            return
        try:
            log.error(
                "future %r raised an exception nobody retrieved", self,
                exc_info=(type(exc), exc, exc.__traceback__),
            )
        except Exception:  # interpreter shutdown: logging may already be gone
            pass


# -- the executor -------------------------------------------------------------


class _WorkItem:
    __slots__ = ("args", "ctx", "fn", "future", "kwargs")

    def __init__(
        self,
        future: GreenFuture[Any],
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        self.future = future
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.ctx = contextvars.copy_context()

    def run(self) -> None:
        future = self.future
        if not future.set_running_or_notify_cancel():
            return
        try:
            result = self.ctx.run(self.fn, *self.args, **self.kwargs)
        except BaseException as exc:
            future.set_exception(exc)
            if isinstance(exc, (GreenletExit, KeyboardInterrupt, SystemExit)):
                raise  # the worker was killed / the main green thread must hear it
        else:
            future.set_result(result)


def _check_workers(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError(f"max_workers must be an int, not {value!r}")
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"max_workers must be an int, not {value!r}") from None
    if value <= 0:
        raise ValueError(f"max_workers must be greater than 0, not {value!r}")
    return int(value)


class GreenThreadPoolExecutor(Executor):
    """A ``concurrent.futures.Executor`` running calls in at most ``max_workers`` green threads.

    ``submit`` never blocks: calls beyond ``max_workers`` wait in a FIFO queue.
    """

    def __init__(self, max_workers: int = 1000) -> None:
        self._max_workers = _check_workers(max_workers)
        self._queue: deque[_WorkItem] = deque()
        self._workers = 0  # worker green threads started and not yet ended
        self._worker_tasks: set[object] = set()
        self._idle = WaitQueue()  # shutdown(wait=True) callers, woken when _workers drops to 0
        self._shutdown = False
        self._hub: Hub | None = None  # bound by the first submit

    @property
    def max_workers(self) -> int:
        """The most calls running at once."""
        return self._max_workers

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> GreenFuture[T]:
        """Schedule ``fn(*args, **kwargs)``; returns its future at once, never blocking."""
        if self._shutdown:
            raise RuntimeError(f"cannot schedule new futures after shutdown: {self!r}")
        if not callable(fn):
            raise TypeError(f"submit() needs a callable, not {fn!r}")
        hub = self._hub
        if hub is None:
            if existing_hub() is None and not is_main_thread(get_ident()):
                # A native thread's hub would never run the work: refuse rather than strand it.
                raise CrossThreadError(
                    f"{self!r}: submit from a native thread before any green thread used the "
                    "executor; submit first from the thread whose hub should run the work"
                )
            hub = self._hub = get_hub()
        elif hub.ident != get_ident():
            raise CrossThreadError(
                f"{self!r} belongs to another OS thread's hub; submit to it from that thread"
            )
        future: GreenFuture[T] = GreenFuture(hub)
        self._queue.append(_WorkItem(future, fn, args, kwargs))
        if self._workers < self._max_workers:
            self._workers += 1
            spawn_n(self._work)
        return future

    def _work(self) -> None:
        me = current()
        self._worker_tasks.add(me)
        queue = self._queue
        try:
            while queue:
                queue.popleft().run()
                if queue:
                    sleep(0)  # fairness: let the others run between two items
        finally:
            self._worker_tasks.discard(me)
            if queue:
                spawn_n(self._work)  # this worker was killed: a fresh one takes over its slot
            else:
                self._workers -= 1
                if not self._workers:
                    self._idle.unpark_all()

    def map(
        self,
        fn: Callable[..., T],
        *iterables: Iterable[Any],
        timeout: float | None = None,
        chunksize: int = 1,
    ) -> Iterator[T]:
        """``map(fn, *iterables)`` run in the executor; results in input order.

        All calls are submitted at once. The iterator raises ``TimeoutError``
        if a result is not ready ``timeout`` seconds after ``map`` was called
        (the call is then cancelled, if it has not started, as are all the
        calls not yet consumed when the iterator is closed). ``chunksize`` is
        accepted and ignored, as by ``ThreadPoolExecutor``.
        """
        if chunksize < 1:
            raise ValueError(f"chunksize must be >= 1, not {chunksize!r}")
        timeout = _check_timeout(timeout, "map()")
        clock = get_hub().clock
        deadline = None if timeout is None else clock() + timeout
        fs = [self.submit(fn, *args) for args in zip(*iterables, strict=False)]
        return _results_in_order(fs, deadline, clock)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Refuse new work; ``cancel_futures`` cancels what has not started; ``wait`` waits for the rest."""
        self._shutdown = True
        if cancel_futures:
            queue = self._queue
            while queue:
                queue.popleft().future.cancel()
        if wait and self._workers:
            if current() in self._worker_tasks:
                raise RuntimeError(f"shutdown(wait=True) from a worker of {self!r} would wait for itself")
            while self._workers:
                self._idle.park(None, "GreenThreadPoolExecutor.shutdown")

    def __repr__(self) -> str:
        return (
            f"<GreenThreadPoolExecutor max_workers={self._max_workers} workers={self._workers} "
            f"queued={len(self._queue)}{' shut down' if self._shutdown else ''}>"
        )


def _results_in_order(
    fs: list[GreenFuture[T]], deadline: float | None, clock: Callable[[], float]
) -> Iterator[T]:
    try:
        fs.reverse()
        while fs:
            future = fs.pop()
            try:
                yield future.result(None if deadline is None else deadline - clock())
            finally:
                future.cancel()
                del future
    finally:
        for future in fs:
            future.cancel()


# -- wait and as_completed ------------------------------------------------------


class _Waiter:
    """A done-callback registered on each watched future; parks and wakes one green thread."""

    __slots__ = ("arrived", "foreign", "hub", "queue", "reason")

    def __init__(self, hub: Hub, reason: str) -> None:
        self.hub = hub
        self.reason = reason
        self.arrived: deque[Any] = deque()  # completed futures, in completion order
        self.foreign: set[Any] = set()  # watched futures whose callback may come from another thread
        self.queue = WaitQueue()

    def __call__(self, future: Any) -> None:
        if get_ident() == self.hub.ident:
            self._arrive(future)
        else:
            self.hub.call_soon_threadsafe(self._arrive, future)

    def _arrive(self, future: Any) -> None:
        self.arrived.append(future)
        self.foreign.discard(future)
        self.queue.unpark_one()

    def watch(self, futures: Iterable[Any]) -> None:
        hub = self.hub
        for f in futures:
            if not _is_local(f, hub):
                self.foreign.add(f)
            f.add_done_callback(self)

    def unwatch(self, futures: Iterable[Any]) -> None:
        for f in futures:
            if isinstance(f, GreenThread):
                f.unlink(self)
            elif isinstance(f, Future):
                # The stdlib has no remove_done_callback; its own wait() edits
                # the futures' private lists the same way.
                with f._condition:
                    try:
                        f._done_callbacks.remove(self)  # type: ignore[attr-defined]
                    except ValueError:
                        pass

    def wait(self, timeout: float | None) -> bool:
        """Park until a watched future completes; False if ``timeout`` passed first."""
        if self.arrived:
            return True
        if timeout is not None and timeout <= 0:
            return False
        hold = bool(self.foreign)
        if hold:
            self.hub.hold_external()
        try:
            return park(self.reason, timeout, self.queue.records) is not TIMED_OUT
        finally:
            if hold:
                self.hub.release_external()


def _is_local(future: Any, hub: Hub) -> bool:
    """True if ``future``'s done-callbacks run in ``hub``'s green threads."""
    if isinstance(future, GreenThread):
        return future._home is None or future._home is hub
    if isinstance(future, GreenFuture):
        return future._home is hub
    return False


def _raised(future: Any) -> bool:
    """True if a done ``future`` ended with an exception (without marking it retrieved)."""
    if isinstance(future, GreenThread):
        return future._exc is not None and not future._cancelled
    if isinstance(future, Future):
        return not future.cancelled() and future._exception is not None
    return not future.cancelled() and future.exception() is not None


def _check_timeout(timeout: float | None, what: str) -> float | None:
    return None if timeout is None else check_timeout(timeout, f"{what} timeout")


# Two signatures so that a mix (GreenFutures and GreenThreads, whose only common
# type is the protocol) type-checks without an annotation at the call: mypy
# joins such a list literal to ``object`` against the first, and infers it as
# ``list[FutureLike]`` against the second (which it deems unreachable, wrongly).
@overload
def wait(
    fs: Iterable[F], timeout: float | None = None, return_when: str = ALL_COMPLETED
) -> DoneAndNotDoneFutures[F]: ...
@overload
def wait(  # type: ignore[overload-cannot-match]
    fs: Iterable[FutureLike], timeout: float | None = None, return_when: str = ALL_COMPLETED
) -> DoneAndNotDoneFutures[FutureLike]: ...
def wait(
    fs: Iterable[Any], timeout: float | None = None, return_when: str = ALL_COMPLETED
) -> DoneAndNotDoneFutures[Any]:
    """Wait (parking this green thread) until ``return_when`` holds for ``fs``, or ``timeout`` passes.

    ``return_when`` is ``FIRST_COMPLETED``, ``FIRST_EXCEPTION`` (the first that
    raised; ALL_COMPLETED if none raises) or ``ALL_COMPLETED``. Returns the
    sets of futures done and not done; a timeout is not an error.
    """
    if return_when not in _RETURN_WHEN:
        raise ValueError(f"invalid return_when {return_when!r}: use {', '.join(_RETURN_WHEN)}")
    timeout = _check_timeout(timeout, "wait()")
    unique = dict.fromkeys(fs)
    done = {f for f in unique if f.done()}
    not_done = {f for f in unique if f not in done}

    def satisfied(new: Iterable[Any]) -> bool:
        if not not_done:
            return True
        if return_when == FIRST_COMPLETED:
            return bool(done)
        return return_when == FIRST_EXCEPTION and any(_raised(f) for f in new)

    if satisfied(done) or (timeout is not None and timeout <= 0):
        return DoneAndNotDoneFutures(done, not_done)
    hub = get_hub()
    deadline = None if timeout is None else hub.clock() + timeout
    waiter = _Waiter(hub, "futures.wait")
    watched = list(not_done)
    waiter.watch(watched)
    try:
        while True:
            new = []
            while waiter.arrived:
                f = waiter.arrived.popleft()
                if f in not_done:
                    not_done.discard(f)
                    done.add(f)
                    new.append(f)
            if satisfied(new):
                break
            if not waiter.wait(None if deadline is None else deadline - hub.clock()):
                break
    finally:
        waiter.unwatch(watched)
    late = {f for f in not_done if f.done()}  # done, its callback still on its way
    return DoneAndNotDoneFutures(done | late, not_done - late)


@overload
def as_completed(fs: Iterable[F], timeout: float | None = None) -> Iterator[F]: ...
@overload
def as_completed(  # type: ignore[overload-cannot-match]  # see wait
    fs: Iterable[FutureLike], timeout: float | None = None
) -> Iterator[FutureLike]: ...
def as_completed(fs: Iterable[Any], timeout: float | None = None) -> Iterator[Any]:
    """Yield the futures of ``fs`` as they complete: those already done first, in input order.

    Raises ``TimeoutError`` if they have not all completed ``timeout`` seconds
    after iteration began. Duplicates are yielded once.
    """
    return _as_completed(fs, _check_timeout(timeout, "as_completed()"))


def _as_completed(fs: Iterable[F], timeout: float | None) -> Iterator[F]:
    hub = get_hub()
    deadline = None if timeout is None else hub.clock() + timeout
    unique = dict.fromkeys(fs)
    total = len(unique)
    finished = [f for f in unique if f.done()]
    pending = set(unique).difference(finished)
    waiter = _Waiter(hub, "futures.as_completed")
    watched = list(pending)
    waiter.watch(watched)
    try:
        yield from finished
        del finished
        while pending:
            if not waiter.arrived and not waiter.wait(
                None if deadline is None else deadline - hub.clock()
            ):
                raise FuturesTimeoutError(f"{len(pending)} (of {total}) futures unfinished")
            while waiter.arrived:
                f = waiter.arrived.popleft()
                if f in pending:
                    pending.discard(f)
                    yield f
    finally:
        waiter.unwatch(watched)
