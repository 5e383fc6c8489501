"""A pool of native threads for calls that truly block: ``execute`` and ``Proxy``.

Some calls block inside C and cannot be made cooperative (libvirt, librados,
DNS through libc, file I/O, CPU-heavy hashing). ``execute`` runs such a call
in a native worker thread and parks only the calling green thread; the hub
keeps serving every other green thread meanwhile.

How a call travels: the green caller puts a ``_Job`` on a ``SimpleQueue``
(C, thread-safe), marks the hub as having work pending in another thread
(``hold_external``, so the deadlock detector never fires on it) and parks on
the job. A worker runs the function and hands the outcome back with the
hub's ``call_soon_threadsafe`` (one pipe write, and only if the hub sleeps in
its poll): no loopback socket per pool as eventlet has. If the caller was
killed or timed out meanwhile, it already left the job's wait queue, so the
late outcome finds nobody and is dropped; the pool is unaffected.

The pool grows lazily, one worker at a time, up to ``GREENLANE_THREADPOOL_SIZE``
threads (default 20, at most ``MAX_THREADS``): a call that finds no idle
worker starts one while the pool is below its size, so a program that makes
one call at a time runs one thread, not twenty. The pool uses only the
original ``_thread`` primitives (never patched ones),
stops at interpreter exit (``killall``) and starts again on the next
``execute``, as eventlet's does (forked children rely on that). After a
fork the child starts a fresh pool, and green threads that were waiting on
jobs of the parent's pool get a ``RuntimeError``.

A long-lived native thread feeding green threads (Nova runs the libvirt event
loop that way) needs no pool: start it with the original, unpatched
``threading`` (or ``_thread``) and hand each event to the green side with
``hub.call_soon_threadsafe(callback, event)``, or simply ``put`` it into a
``greenlane.queue.Queue`` or ``send`` an ``Event``: green primitives route
signals from native threads to their hub. Hold the hub with
``hub.hold_external()`` while such a thread may still deliver, if the green
side could otherwise be left with nothing to wait for.
"""

from __future__ import annotations

import atexit
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from types import ModuleType
from typing import Any, Final, ParamSpec, TypeVar

from ._core import (
    MAX_THREADPOOL_SIZE,
    TIMED_OUT,
    Hub,
    Parked,
    SimpleQueue,
    allocate_lock,
    current_hub,
    existing_hub,
    get_ident,
    park,
    quiet_threads,
    read_config,
    start_new_thread,
    thread_local,
)

# Marks tpool's own worker threads (they run native code: no hub, no nested tpool).
_tls = thread_local()

__all__ = ["MAX_THREADS", "Proxy", "execute", "killall", "set_num_threads", "setup"]

# The largest pool ``GREENLANE_THREADPOOL_SIZE`` or ``set_num_threads`` may ask for.
MAX_THREADS: Final = MAX_THREADPOOL_SIZE

P = ParamSpec("P")
T = TypeVar("T")

# What a worker takes off the queue to know it should exit.
_STOP: Final = None


class _Job:
    """One call in flight: what to run, where to report, who waits."""

    __slots__ = ("args", "fn", "hub", "kwargs", "waiters")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], hub: Hub):
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.hub = hub
        self.waiters: deque[Parked] = deque()

    def deliver(self, ok: bool, value: Any) -> None:
        """In the caller's hub: wake the caller if it still waits, drop the hold."""
        self.hub.release_external()
        if self.waiters:
            rec = self.waiters.popleft()
            self.hub.unpark(rec, (ok, value))


class _Pool:
    """The worker threads and their job queue (process-wide; reset after fork)."""

    def __init__(self) -> None:
        self.size: int | None = None  # None: read GREENLANE_THREADPOOL_SIZE when first needed
        self.jobs: SimpleQueue[_Job | None] = SimpleQueue()
        self.workers: list[Any] = []  # one "exited" lock per running worker
        # Workers that finished a job and will take the next one, not yet claimed
        # by a caller (ThreadPoolExecutor's rule; guarded by ``lock``).
        self.idle = 0
        self.generation = 0  # bumped by stop(): a worker of an older one is not counted idle
        self.inflight: set[_Job] = set()
        self.lock = allocate_lock()
        self.shutting_down = False

    def wanted(self) -> int:
        if self.size is None:
            self.size = read_config().threadpool_size
        return self.size

    def claim_worker(self) -> None:
        """Before queueing a job: claim an idle worker, or start one if below the size."""
        with self.lock:
            if self.idle > 0:
                self.idle -= 1
            elif len(self.workers) < self.wanted():
                exited = allocate_lock()
                exited.acquire()
                start_new_thread(_worker, (self, exited, self.generation))
                self.workers.append(exited)
            # else: every worker is busy and the pool is full; the job waits its turn.

    def stop(self) -> None:
        with self.lock:
            workers, self.workers = self.workers, []
            self.idle = 0
            self.generation += 1
            for _ in workers:
                self.jobs.put(_STOP)
        for exited in workers:
            exited.acquire()


_pool = _Pool()
_quiet_lock = allocate_lock()


def _worker(pool: _Pool, exited: Any, generation: int) -> None:
    _tls.tpool_worker = True
    with _quiet_lock:  # wakes hubs only through held jobs: not a deadlock-rule waker
        quiet_threads[0] += 1
    try:
        while True:
            job = pool.jobs.get()
            if job is _STOP:
                return
            try:
                outcome = (True, job.fn(*job.args, **job.kwargs))
            except BaseException as exc:  # handed to the caller with its traceback
                outcome = (False, exc)
            # Idle from now on, counted before the caller can resume: its next call
            # then finds this worker instead of starting another.
            with pool.lock:
                if pool.generation == generation:  # else stopped: a _STOP is queued for us
                    pool.idle += 1
            job.hub.call_soon_threadsafe(_finish, pool, job, *outcome)
            del job, outcome
    finally:
        with _quiet_lock:
            quiet_threads[0] -= 1
        exited.release()


def _finish(pool: _Pool, job: _Job, ok: bool, value: Any) -> None:
    pool.inflight.discard(job)
    job.deliver(ok, value)


def execute(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Run ``fn(*args, **kwargs)`` in a native worker thread; park only this green thread.

    Returns the result or raises the exception (with its traceback). Runs
    inline when called from a worker or another native thread without a hub,
    and when the pool size is 0.
    """
    if not callable(fn):
        raise TypeError(f"tpool.execute() needs a callable, not {fn!r}")
    if getattr(_tls, "tpool_worker", False) or existing_hub() is None or _pool.wanted() == 0:
        return fn(*args, **kwargs)
    if _pool.shutting_down:
        raise RuntimeError("tpool.execute() during interpreter shutdown")
    _pool.claim_worker()
    hub = current_hub()
    job = _Job(fn, args, kwargs, hub)
    hub.hold_external()
    _pool.inflight.add(job)
    _pool.jobs.put(job)
    got = park("tpool", None, job.waiters)
    assert got is not TIMED_OUT
    ok, value = got
    if ok:
        return value  # type: ignore[no-any-return]
    raise value


def killall() -> None:
    """Stop every worker thread (after its current job); the next ``execute`` starts them again."""
    _pool.stop()


def setup() -> None:
    """eventlet's name: workers start on the first ``execute``, so there is nothing to do ahead."""


def set_num_threads(nthreads: int) -> None:
    """Resize the pool to at most ``nthreads`` workers (0: ``execute`` runs calls inline).

    The running workers stop (after their current job); new ones start as calls
    arrive. ``nthreads`` above ``MAX_THREADS`` is refused.
    """
    if isinstance(nthreads, bool) or not isinstance(nthreads, int) or nthreads < 0:
        raise ValueError(f"tpool size must be an int >= 0, not {nthreads!r}")
    if nthreads > MAX_THREADS:
        raise ValueError(f"tpool size must be at most {MAX_THREADS}, not {nthreads!r}")
    _pool.stop()
    _pool.size = nthreads


def _at_exit() -> None:
    _pool.shutting_down = True
    _pool.stop()


def _after_fork_in_child() -> None:
    # The workers did not survive the fork; the hub already forgot their holds.
    global _pool
    old, _pool = _pool, _Pool()
    _pool.size = old.size
    lost = RuntimeError("tpool job lost: the process forked while it ran")
    for job in old.inflight:
        if job.hub.ident == get_ident() and job.waiters:
            job.hub.call_soon(job.hub.unpark, job.waiters.popleft(), (False, lost))


atexit.register(_at_exit)
os.register_at_fork(after_in_child=_after_fork_in_child)


class _TpoolModule(ModuleType):
    """This module, with eventlet's private ``_nthreads`` and ``_threads`` that tests read and set.

    cinder's and nova's test fixtures do ``tpool.killall(); tpool._nthreads = 20``
    and check ``tpool._threads == []``: here the size is ``set_num_threads``'s
    and the list has one entry per running worker.
    """

    @property
    def _nthreads(self) -> int:
        return _pool.wanted()

    @_nthreads.setter
    def _nthreads(self, nthreads: int) -> None:
        set_num_threads(nthreads)

    @property
    def _threads(self) -> list[Any]:
        return list(_pool.workers)


sys.modules[__name__].__class__ = _TpoolModule


class Proxy:
    """Forward calls on ``obj`` through ``execute`` (eventlet's ``tpool.Proxy``).

    Method calls, ``obj(...)``, ``obj[k]``, ``obj[k] = v``, iteration,
    ``with``, ``len``, ``bool``, ``==``, ``hash``, ``repr`` and ``str`` run in a
    worker thread. Results whose type is in ``autowrap``, or that come from an
    attribute or method named in ``autowrap_names``, come back wrapped in a
    ``Proxy`` too. ``nonblocking=True`` on a method call runs it directly.
    """

    __slots__ = ("_autowrap", "_autowrap_names", "_obj")

    def __init__(
        self, obj: Any, autowrap: Iterable[type] = (), autowrap_names: Iterable[str] = ()
    ) -> None:
        object.__setattr__(self, "_obj", obj)
        object.__setattr__(self, "_autowrap", tuple(autowrap))
        object.__setattr__(self, "_autowrap_names", frozenset(autowrap_names))

    def _wrap(self, value: Any, name: str = "") -> Any:
        # As eventlet: a wrapped result keeps the type list, not the names, and a
        # result that already is a Proxy is returned as it is.
        if isinstance(value, Proxy):
            return value
        if (self._autowrap and isinstance(value, self._autowrap)) or name in self._autowrap_names:
            return Proxy(value, self._autowrap)
        return value

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._obj, name)
        if not callable(attr):
            return self._wrap(attr, name)
        return _Method(self, attr, name)

    # Setting and deleting go to the wrapped object, symmetrically, so that
    # mock.patch.object(proxy, "name", ...) patches it and puts back exactly
    # what was there: a method read through the proxy and set back is stored
    # as the wrapped object's own callable, never as the proxy's wrapper.
    def __setattr__(self, name: str, value: Any) -> None:
        if type(value) is _Method:
            value = value.__wrapped__
        setattr(self._obj, name, value)

    def __delattr__(self, name: str) -> None:
        delattr(self._obj, name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._wrap(execute(self._obj, *args, **kwargs), "__call__")

    def __getitem__(self, key: Any) -> Any:
        return self._wrap(execute(self._obj.__getitem__, key), "__getitem__")

    def __setitem__(self, key: Any, value: Any) -> None:
        execute(self._obj.__setitem__, key, value)

    def __iter__(self) -> Iterator[Any]:
        it = execute(iter, self._obj)
        return self if it is self._obj else Proxy(it, self._autowrap, self._autowrap_names)

    def __next__(self) -> Any:
        return self._wrap(execute(next, self._obj))

    def __enter__(self) -> Any:
        return self._wrap(execute(self._obj.__enter__))

    def __exit__(self, *exc_info: Any) -> Any:
        return execute(self._obj.__exit__, *exc_info)

    def __len__(self) -> int:
        return execute(len, self._obj)

    def __bool__(self) -> bool:
        return execute(bool, self._obj)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Proxy):
            other = other._obj
        return execute(lambda: self._obj == other)  # type: ignore[no-any-return]

    def __hash__(self) -> int:
        return execute(hash, self._obj)

    def __repr__(self) -> str:
        return execute(repr, self._obj)

    def __str__(self) -> str:
        return execute(str, self._obj)


class _Method:
    """A callable attribute read through a ``Proxy``: calling it runs the call in a worker thread."""

    __slots__ = ("__name__", "__wrapped__", "_proxy")

    def __init__(self, proxy: Proxy, attr: Callable[..., Any], name: str) -> None:
        self._proxy = proxy
        self.__wrapped__ = attr
        self.__name__ = name

    def __call__(self, *args: Any, nonblocking: bool = False, **kwargs: Any) -> Any:
        attr = self.__wrapped__
        result = attr(*args, **kwargs) if nonblocking else execute(attr, *args, **kwargs)
        return self._proxy._wrap(result, self.__name__)

    def __repr__(self) -> str:
        return f"<tpool.Proxy method {self.__name__} of {self.__wrapped__!r}>"
