"""eventlet's ``GreenPool`` and ``GreenPile``: bounded sets of green threads.

A ``GreenPool(size)`` lets at most ``size`` of its green threads exist at once.
It keeps one count and two wait queues:

- ``_active``: slots taken, i.e. threads spawned (queued or running) and not
  yet finished, plus spawners just handed a slot;
- ``_spawners``: green threads blocked in ``spawn``/``spawn_n`` because the
  pool is full, served first-in first-out;
- ``_idle``: green threads in ``waitall``, all woken when ``_active`` drops
  to zero.

Invariant (kept in ``_release_slot`` and ``resize``): ``_active < size``
implies nobody waits in ``_spawners``. A finishing thread's link hands its
slot straight to the longest-waiting spawner instead of freeing it, so a
later ``spawn`` cannot overtake one already waiting (no barging), and a
spawner killed or timed out after being handed a slot passes it on (the
park's ``on_abandon``), so no slot is ever lost. Finished threads leave the
pool through their link, so the pool keeps nothing alive.

**Spawning into a full pool from one of its own threads.** A pool thread
that waits for a slot may be waiting for itself: if every slot is held by a
thread doing the same, nothing can ever free one. Like eventlet, ``spawn``
then runs the function *inline*, in the calling green thread (the caller
already holds a slot, so the pool's bound still holds), and returns a
``GreenThread`` that has already finished. Unlike eventlet's (a handle on
the *caller*, whose ``kill`` killed the caller), that handle is a proper
finished ``GreenThread`` whose ``wait``/``result`` return the value or raise
what the function raised. Exceptions (``Exception`` subclasses) are kept in
the handle, as for any spawned thread; other ``BaseException`` s (a kill's
``GreenletExit``, a ``Timeout``) were thrown at the *caller*, so they go on
propagating in the caller. ``getcurrent()`` in an inline function is the
caller. ``spawn_n`` does the same and logs a failure at once.

``imap``/``starmap`` spawn one pool thread per item (each item gets its own
green thread, context and locals, as in eventlet), with at most ``size``
items in flight (spawned and not yet consumed), so memory stays constant for
endless inputs; results come back in input order. The pool's free slots are
filled as soon as ``imap`` is called (without blocking the caller), the rest
as the caller iterates. An exception raised by the function, or by an input
iterator, is raised by the iterator at its position; the iterator can be
resumed past it.

A pool belongs to the hub (OS thread) that uses it.
"""

from __future__ import annotations

import logging
import operator
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, ParamSpec, TypeVar, overload

from greenlet import GreenletExit

from ._core import WaitQueue, current, get_hub, park
from .greenthread import GreenThread, _Call
from .greenthread import spawn as _spawn

__all__ = ["DEBUG", "GreenMap", "GreenPile", "GreenPool", "SelfWaitError"]

T = TypeVar("T")
P = ParamSpec("P")

log = logging.getLogger("greenlane.greenpool")

# eventlet's switch: set it False to stop logging the failures of spawn_n
# functions (a spawned thread's failure stays in its handle either way).
DEBUG = True


class SelfWaitError(RuntimeError, AssertionError):
    """``waitall()`` from one of the pool's own threads (an ``AssertionError`` too, as eventlet raises)."""


def _check_size(size: Any, what: str) -> int:
    if isinstance(size, float) and size.is_integer():
        size = int(size)  # eventlet accepts GreenPool(1e3)
    if isinstance(size, bool):
        raise TypeError(f"{what} must be an int, not {size!r}")
    try:
        size = operator.index(size)
    except TypeError:
        raise TypeError(f"{what} must be an int, not {size!r}") from None
    if size < 0:
        raise ValueError(f"{what} must be >= 0, not {size!r}")
    return int(size)


def _name(fn: object) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)


class GreenPool:
    """A pool of at most ``size`` green threads; ``spawn`` waits (FIFO) while it is full."""

    # ``__dict__``: as on eventlet's pool, a method can be replaced on one instance
    # (``mock.patch.object(pool, "waitall")``, as oslo.service's tests do).
    __slots__ = ("__dict__", "_active", "_idle", "_members", "_on_done_cb", "_size", "_spawners")

    def __init__(self, size: int = 1000) -> None:
        self._size = _check_size(size, "GreenPool size")
        self._active = 0
        self._spawners = WaitQueue()
        self._idle = WaitQueue()
        # The pool's threads (GreenThreads; spawn_n tasks once started): spawn
        # from one of them into a full pool runs inline (see the module docstring).
        self._members: set[object] = set()
        self._on_done_cb = self._on_done  # bound once: linked to every thread

    @property
    def size(self) -> int:
        """The most green threads the pool runs at once (change it with ``resize``)."""
        return self._size

    def resize(self, new_size: int) -> None:
        """Change the bound; growing lets waiting spawners in at once.

        Shrinking below ``running()`` stops nothing: new threads wait until
        enough finish (``free()`` is negative meanwhile).
        """
        self._size = _check_size(new_size, "GreenPool size")
        waiters = self._spawners
        while self._active < self._size and waiters.unpark_one():
            self._active += 1

    @property
    def coroutines_running(self) -> set[Any]:
        """A snapshot of the pool's threads (eventlet's name; services kill them all with it).

        ``spawn`` threads are ``GreenThread`` s; a ``spawn_n`` call is listed
        (as the handle ``getcurrent()`` returns inside it) from the moment it
        is spawned, started or not, until it ends: it occupies the pool.
        """
        return set(self._members)

    def running(self) -> int:
        """Green threads of the pool spawned and not yet finished."""
        return self._active

    def free(self) -> int:
        """Slots free now: ``spawn`` waits when this is 0 or less."""
        return self._size - self._active

    def waiting(self) -> int:
        """Green threads blocked in ``spawn``/``spawn_n`` waiting for a slot."""
        return len(self._spawners)

    # -- spawning ---------------------------------------------------------

    def _take_slot(self) -> bool:
        """Take a slot, waiting while the pool is full; False: run inline instead."""
        if self._active < self._size:
            self._active += 1
            return True
        if current() in self._members:
            return False
        # Woken with the slot already counted for us (see _release_slot).
        park("GreenPool.spawn", None, self._spawners.records, self._pass_on)
        return True

    def _pass_on(self, _slot: object) -> None:
        self._release_slot()

    def _release_slot(self) -> None:
        # Invariant: _active < size implies nobody waits in _spawners. Hand the
        # slot straight to the longest waiter when the pool is not over size.
        if self._active <= self._size and self._spawners.unpark_one():
            return
        self._active -= 1
        if not self._active and self._idle:
            self._idle.unpark_all()

    def _on_done(self, gt: GreenThread[Any]) -> None:
        self._members.discard(gt)
        self._release_slot()

    def spawn(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> GreenThread[T]:
        """Run ``fn(*args, **kwargs)`` in a pool thread, waiting while the pool is full.

        Called from one of the pool's own threads while it is full, runs ``fn``
        inline instead and returns a finished ``GreenThread`` (see the module
        docstring).
        """
        if not callable(fn):
            raise TypeError(f"GreenPool.spawn() needs a callable, not {fn!r}")
        if not self._take_slot():
            return _run_inline(fn, args, kwargs)
        try:
            gt = _spawn(fn, *args, **kwargs)
        except BaseException:
            self._release_slot()
            raise
        self._members.add(gt)
        gt.link(self._on_done_cb)
        return gt

    def spawn_n(self, fn: Callable[P, object], /, *args: P.args, **kwargs: P.kwargs) -> None:
        """Like ``spawn`` without a handle: a failure is logged at once (logger ``greenlane.greenpool``)."""
        if not callable(fn):
            raise TypeError(f"GreenPool.spawn_n() needs a callable, not {fn!r}")
        if not self._take_slot():
            _call_logged(fn, args, kwargs, Exception)
            return
        # A member from now, not from when it starts: coroutines_running and
        # running() agree, and a leak check sees a thread that has not run yet.
        task = _Call(self._run_n, (fn, args, kwargs), {})
        task._on_cancel = self._n_cancelled
        try:
            get_hub().start_task(task)
        except BaseException:
            self._release_slot()
            raise
        self._members.add(task)

    def _run_n(self, fn: Callable[..., object], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        try:
            _call_logged(fn, args, kwargs, BaseException)
        finally:
            self._members.discard(current())
            self._release_slot()

    def _n_cancelled(self, task: object) -> None:
        """A spawn_n thread killed before it started: it leaves the pool without running."""
        self._members.discard(task)
        self._release_slot()

    def waitall(self) -> None:
        """Wait until no thread of the pool is running (returns at once if none is)."""
        if current() in self._members:
            raise SelfWaitError(f"waitall() called from a thread of {self!r} would wait for itself forever")
        if self._active:
            self._idle.park(None, "GreenPool.waitall")

    # -- mapping ----------------------------------------------------------

    @overload
    def imap(self, fn: None, /, *iterables: Iterable[Any]) -> Iterator[tuple[Any, ...]]: ...
    @overload
    def imap(self, fn: Callable[..., T], /, *iterables: Iterable[Any]) -> Iterator[T]: ...
    def imap(self, fn: Callable[..., Any] | None, /, *iterables: Iterable[Any]) -> Iterator[Any]:
        """``map(fn, *iterables)`` with each call in a pool thread; results in input order.

        At most ``size`` items are in flight; ``fn=None`` yields the argument tuples.
        """
        return self._map("imap", fn, zip(*iterables, strict=False))

    @overload
    def starmap(self, fn: None, iterable: Iterable[Iterable[Any]], /) -> Iterator[tuple[Any, ...]]: ...
    @overload
    def starmap(self, fn: Callable[..., T], iterable: Iterable[Iterable[Any]], /) -> Iterator[T]: ...
    def starmap(self, fn: Callable[..., Any] | None, iterable: Iterable[Iterable[Any]], /) -> Iterator[Any]:
        """``itertools.starmap(fn, iterable)`` with each call in a pool thread; results in input order."""
        return self._map("starmap", fn, iter(iterable))

    def _map(self, what: str, fn: Callable[..., Any] | None, args: Iterator[Iterable[Any]]) -> Iterator[Any]:
        if fn is None:
            fn = _as_tuple
        elif not callable(fn):
            raise TypeError(f"GreenPool.{what}() needs a callable or None, not {fn!r}")
        return _OrderedMap(self, fn, args)

    def __repr__(self) -> str:
        return f"<GreenPool size={self._size} running={self._active} waiting={len(self._spawners)}>"


def _as_tuple(*args: Any) -> tuple[Any, ...]:
    return args


def _run_inline(fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> GreenThread[T]:
    """Run ``fn`` in the calling green thread; a finished ``GreenThread`` holds the outcome."""
    gt = GreenThread(fn, args, kwargs)
    gt._run()  # runs fn here, in a copy of the caller's context, and finishes gt
    exc = gt._exc
    if exc is not None and not isinstance(exc, (Exception, KeyboardInterrupt, SystemExit)):
        # A kill or Timeout aimed at the caller (KeyboardInterrupt and SystemExit
        # already went to the main green thread, as from any green thread).
        gt._retrieved = True
        raise exc
    return gt


def _call_logged(
    fn: Callable[..., object],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    catch: type[BaseException],
) -> None:
    """Call ``fn``, logging a ``catch`` at once; a kill, KeyboardInterrupt and SystemExit propagate.

    ``catch`` is ``Exception`` inline (anything else was thrown at the caller)
    and ``BaseException`` in a pool thread of its own.
    """
    try:
        fn(*args, **kwargs)
    except (GreenletExit, KeyboardInterrupt, SystemExit):
        raise
    except catch as exc:
        if not DEBUG:
            return
        tb = exc.__traceback__
        tb = tb.tb_next if tb is not None and tb.tb_next is not None else tb
        log.error("green thread %s (GreenPool.spawn_n) failed", _name(fn), exc_info=(type(exc), exc, tb))


class _OrderedMap(Iterator[T]):
    """The iterator of ``imap``/``starmap``: a window of at most ``size`` threads, oldest first."""

    __slots__ = ("_error", "_fn", "_input", "_pending", "_pool")

    def __init__(self, pool: GreenPool, fn: Callable[..., T], args: Iterator[Iterable[Any]]) -> None:
        self._pool = pool
        self._fn = fn
        self._input: Iterator[Iterable[Any]] | None = args
        self._pending: deque[GreenThread[T]] = deque()
        self._error: BaseException | None = None  # from the input, raised at its position
        self._fill(blocking=False)

    def _fill(self, blocking: bool) -> None:
        pool, pending, fn, it = self._pool, self._pending, self._fn, self._input
        assert it is not None
        window = pool._size or 1
        while len(pending) < window:
            if not blocking and pool._active >= pool._size:
                return
            try:
                args = next(it)
            except StopIteration:
                self._input = None
                return
            except Exception as exc:
                self._input = None
                self._error = exc
                return
            pending.append(pool.spawn(fn, *args))

    def __next__(self) -> T:
        pending = self._pending
        if self._input is not None and len(pending) < (self._pool._size or 1):
            self._fill(blocking=True)
        if pending:
            return pending.popleft().wait()
        error = self._error
        if error is not None:
            self._error = None
            raise error
        raise StopIteration

    next = __next__  # eventlet's name

    def __repr__(self) -> str:
        state = "exhausted" if self._input is None else "reading"
        return f"<GreenPool map {_name(self._fn)} in_flight={len(self._pending)} input={state}>"


class GreenPile(Generic[T]):
    """Results of spawned calls, iterated in spawn order (eventlet's ``GreenPile``).

    ``GreenPile(n)`` makes its own ``GreenPool(n)``; ``GreenPile(pool)``
    shares ``pool``'s bound with other users. ``len()`` counts results not
    yet taken. Iterating in another green thread than the spawner's waits for
    a ``spawn`` still blocked on a full pool; it stops when nothing is left.
    """

    __slots__ = ("_arrivals", "_counter", "_pending", "pool")

    def __init__(self, size_or_pool: int | GreenPool = 1000) -> None:
        self.pool = size_or_pool if isinstance(size_or_pool, GreenPool) else GreenPool(size_or_pool)
        self._pending: deque[GreenThread[T]] = deque()
        self._counter = 0  # spawns begun and results not yet taken
        self._arrivals = WaitQueue()

    def spawn(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> GreenThread[T]:
        """Run ``fn(*args, **kwargs)`` in the pool (waiting while it is full); its result joins the pile."""
        self._counter += 1
        try:
            gt = self.pool.spawn(fn, *args, **kwargs)
        except BaseException:
            self._counter -= 1
            self._arrivals.unpark_all()  # a consumer waiting for this spawn re-checks
            raise
        self._pending.append(gt)
        self._arrivals.unpark_one()
        return gt

    def __iter__(self) -> GreenPile[T]:
        return self

    def __next__(self) -> T:
        """The next result in spawn order (waiting for it); ``StopIteration`` when none is left."""
        pending = self._pending
        while not pending:
            if not self._counter:
                raise StopIteration
            self._arrivals.park(None, "GreenPile.next")
        gt = pending.popleft()
        try:
            return gt.wait()
        finally:
            self._counter -= 1

    next = __next__  # eventlet's name

    def __len__(self) -> int:
        return self._counter

    def __repr__(self) -> str:
        return f"<{type(self).__name__} pending={self._counter} pool={self.pool!r}>"


class GreenMap(GreenPile[T]):
    """eventlet's ``GreenMap``: a ``GreenPile`` fed by one thread and drained by another.

    ``spawn`` waits while ``pool.size`` results are not yet taken, and
    iteration ends only after ``done_spawning()`` (not when it catches up with
    the spawner).
    """

    __slots__ = ("_done", "_space")

    def __init__(self, size_or_pool: int | GreenPool = 1000) -> None:
        super().__init__(size_or_pool)
        self._done = False
        self._space = WaitQueue()

    def spawn(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> GreenThread[T]:
        """Like ``GreenPile.spawn``, waiting first while ``pool.size`` results are untaken."""
        if self._done:
            raise RuntimeError(f"{self!r}: spawn() after done_spawning()")
        while self._counter >= (self.pool.size or 1):
            self._space.park(None, "GreenMap.spawn")
        return super().spawn(fn, *args, **kwargs)

    def done_spawning(self) -> None:
        """No more spawns: iteration ends once the results spawned so far are taken."""
        self._done = True
        self._arrivals.unpark_all()

    def __next__(self) -> T:
        """The next result in spawn order, waiting for a spawn until ``done_spawning()``."""
        pending = self._pending
        while not pending:
            if self._done and not self._counter:
                raise StopIteration
            self._arrivals.park(None, "GreenMap.next")
        gt = pending.popleft()
        try:
            return gt.wait()
        finally:
            self._counter -= 1
            self._space.unpark_one()

    next = __next__
