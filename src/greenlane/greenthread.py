"""Green threads: eventlet's ``spawn``/``wait``/``link``/``kill``, with a ``Future`` face.

A ``GreenThread`` is a handle on a function running on a pooled worker
greenlet (see ``greenlane._core._hub``). What each call gives, by how the
thread ended:

| ended by                | wait()        | result()       | exception()    | cancelled |
| ----------------------- | ------------- | -------------- | -------------- | --------- |
| returning ``v``         | ``v``         | ``v``          | ``None``       | False     |
| raising ``e``           | raises ``e``  | raises ``e``   | ``e``          | False     |
| ``kill()`` once started | GreenletExit  | GreenletExit   | GreenletExit() | False     |
| ``cancel()``, or        | GreenletExit  | CancelledError | CancelledError | True      |
| ``kill()`` before start |               |                |                |           |

In every case ``done()`` is then True and the links run once (a link added
later runs at once). (A function that catches the kill's ``GreenletExit`` and returns ``v`` ended
by returning ``v``.) ``wait``, ``result`` and ``exception`` count as
retrieving the outcome; an exception nobody retrieved is logged by logger
``greenlane`` when the ``GreenThread`` is garbage-collected (a kill's
``GreenletExit`` never is). ``KeyboardInterrupt`` and ``SystemExit`` raised in
a green thread are also raised in the main green thread.
"""

from __future__ import annotations

import contextvars
import logging
import warnings
from collections.abc import Callable, Generator
from concurrent.futures import CancelledError
from concurrent.futures import TimeoutError as FuturesTimeoutError
from types import TracebackType
from typing import Any, Generic, ParamSpec, TypeVar

from greenlet import GreenletExit, greenlet

from ._core import (
    TIMED_OUT,
    CrossThreadError,
    Hub,
    Task,
    Timer,
    WaitQueue,
    check_timeout,
    current,
    current_hub,
    existing_hub,
    get_hub,
    get_ident,
    park,
    yield_current,
)
from ._native import wait_from_native
from .corolocal import _STORE as _LOCALS
from .corolocal import thread_ended

__all__ = [
    "GreenThread",
    "GreenletExit",
    "SpawnN",
    "call_after",
    "call_after_global",
    "call_after_local",
    "exc_after",
    "getcurrent",
    "kill",
    "sleep",
    "spawn",
    "spawn_after",
    "spawn_after_local",
    "spawn_n",
]

T = TypeVar("T")
P = ParamSpec("P")

log = logging.getLogger("greenlane")

_QUEUED, _RUNNING, _DONE = Task.QUEUED, Task.RUNNING, Task.DONE


def getcurrent() -> Any:
    """The running green thread: its handle if spawned (a ``GreenThread``, or an opaque
    handle under ``spawn_n``), else the raw greenlet (the main green thread).

    Attributes set on it belong to that green thread alone.
    """
    return current()


def sleep(seconds: float = 0) -> None:
    """Suspend the calling green thread for ``seconds``; ``sleep(0)`` lets all others run once."""
    if seconds == 0:
        yield_current()
        return
    if not (seconds.__class__ is float and seconds > 0.0):  # the checks' fast path, inline
        seconds = check_timeout(seconds, "sleep() seconds", negative=False)
    park("sleep", seconds)


def spawn(fn: Callable[P, T] | None = None, /, *args: P.args, **kwargs: P.kwargs) -> GreenThread[T]:
    """Run ``fn(*args, **kwargs)`` in a new green thread, in a copy of the caller's context.

    As in eventlet, the function may be passed as ``func=`` instead.
    """
    if fn is None or not callable(fn):
        fn = _the_function("spawn", fn, kwargs)
    gt = GreenThread(fn, args, kwargs)
    gt._home = hub = current_hub()
    hub.start_task(gt)
    return gt


def spawn_after(
    seconds: float, fn: Callable[P, T] | None = None, /, *args: P.args, **kwargs: P.kwargs
) -> GreenThread[T]:
    """Like ``spawn``, but start after ``seconds``; ``cancel()`` before then stops it."""
    seconds = check_timeout(seconds, "spawn_after() seconds", negative=False)
    fn = _the_function("spawn_after", fn, kwargs)
    gt = GreenThread(fn, args, kwargs)
    gt._home = hub = get_hub()
    gt._timer = hub.call_later(seconds, hub.start_task, gt)
    return gt


def spawn_after_local(
    seconds: float, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
) -> GreenThread[T]:
    """Like ``spawn_after``, but cancelled if the calling green thread ends first (eventlet's)."""
    gt = spawn_after(seconds, fn, *args, **kwargs)
    me = current()
    if isinstance(me, GreenThread):
        me.link(lambda _ended: gt.cancel())
    return gt


# -- eventlet's deprecated names, still called by older services ---------------


def call_after_global(
    seconds: float, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
) -> GreenThread[T]:
    """Deprecated (as in eventlet): ``spawn_after``; ``cancel()`` on the result stops it."""
    _deprecated("call_after_global", "spawn_after")
    return spawn_after(seconds, fn, *args, **kwargs)


def call_after_local(
    seconds: float, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
) -> GreenThread[T]:
    """Deprecated (as in eventlet): ``spawn_after_local``."""
    _deprecated("call_after_local", "spawn_after_local")
    return spawn_after_local(seconds, fn, *args, **kwargs)


call_after = call_after_local


def exc_after(seconds: float | None, *throw_args: Any) -> Any:
    """Deprecated (as in eventlet): raise ``throw_args`` in the caller after ``seconds``.

    Returns a ``Timeout`` whose ``cancel()`` stops it; ``seconds=None`` never fires.
    """
    _deprecated("exc_after", "Timeout(seconds, exception)")
    from .timeout import Timeout

    return Timeout(seconds, _exception_from(throw_args))


def __getattr__(name: str) -> Any:
    """eventlet's deprecated ``greenthread.TimeoutError``: ``Timeout``, with a warning."""
    if name == "TimeoutError":
        _deprecated("greenthread.TimeoutError", "Timeout")
        from .timeout import Timeout

        return Timeout
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"{old} is deprecated; use {new} instead", DeprecationWarning, stacklevel=3)


def spawn_n(fn: Callable[P, object] | None = None, /, *args: P.args, **kwargs: P.kwargs) -> SpawnN:
    """Run ``fn`` in a new green thread with no result; a failure is logged at once.

    Returns the thread's ``SpawnN`` handle (eventlet returns the greenlet):
    ``kill`` accepts it and its ``dead`` tells whether the call has ended.
    """
    fn = _the_function("spawn_n", fn, kwargs)
    task = _Call(fn, args, kwargs)
    get_hub().start_task(task)
    return task


def _the_function(caller: str, fn: Callable[..., Any] | None, kwargs: dict[str, Any]) -> Callable[..., Any]:
    """The function a spawn call names: ``fn``, or (eventlet's parameter name) ``func=`` in ``kwargs``.

    oslo.service's WSGI server calls ``eventlet.spawn(func=wsgi.server, sock=...)``;
    as in eventlet, a target that itself takes ``func`` gets it only with ``fn`` positional.
    """
    if fn is None and "func" in kwargs:
        fn = kwargs.pop("func")
    if not callable(fn):
        raise TypeError(f"{caller}() needs a callable, not {fn!r}")
    return fn


def kill(gt: GreenThread[Any] | Task | greenlet, *throw_args: Any) -> None:
    """Raise ``GreenletExit`` (or ``throw_args``) in ``gt``; see ``GreenThread.kill``."""
    if isinstance(gt, GreenThread):
        gt.kill(*throw_args)
        return
    if not isinstance(gt, (Task, greenlet)):
        raise TypeError(f"kill() needs a green thread (GreenThread, spawn_n handle, greenlet), not {gt!r}")
    exc = _exception_from(throw_args)
    if isinstance(gt, Task):  # a spawn_n thread's handle
        if gt._state == _QUEUED:
            gt._state = _DONE  # never starts
            if isinstance(gt, _Call) and gt._on_cancel is not None:
                gt._on_cancel(gt)
            return
        if gt._state == _DONE:
            return
        hub = gt._hub()
        assert gt._glet is not None
        hub.throw(gt._glet, exc)
    else:
        if gt.dead:
            return
        hub = get_hub()
        hub.throw(gt, exc)
    hub.yield_now()


class _Call(Task):
    """A ``spawn_n`` task: no result kept, failures reported immediately."""

    __slots__ = ("_args", "_ctx", "_fn", "_kwargs", "_on_cancel")

    def __init__(self, fn: Callable[..., object], args: tuple[Any, ...], kwargs: dict[str, Any]):
        self._glet: greenlet | None = None  # Task.__init__, inlined (spawn is hot)
        self._state = _QUEUED
        if Task.on_new is not None:
            Task.on_new(self)
        self._fn = fn
        self._args = args
        self._kwargs = kwargs
        self._ctx = contextvars.copy_context()
        # Called with the task when kill() cancels it before it starts (GreenPool frees its slot).
        self._on_cancel: Callable[[_Call], object] | None = None

    def _run(self) -> None:
        self._state = _RUNNING
        try:
            self._glet.gr_context = self._ctx  # type: ignore[union-attr]  # see GreenThread._run
            self._fn(*self._args, **self._kwargs)
        except GreenletExit:
            pass
        except (KeyboardInterrupt, SystemExit) as exc:
            hub = get_hub()
            hub.throw(hub.root, exc, front=True)
        except BaseException as exc:
            log.error("green thread %s (spawn_n) failed", _name(self._fn), exc_info=_trimmed(exc))
        finally:
            self._state = _DONE
            if _LOCALS in self.__dict__:
                thread_ended(self)

    @property
    def dead(self) -> bool:
        """True once the call has ended (returned, raised, or been killed), or was killed before starting."""
        return self._state == _DONE

    def __bool__(self) -> bool:
        """True while the call runs (started and not ended), as a greenlet's truth."""
        return self._state == _RUNNING

    def __repr__(self) -> str:
        return f"<green thread {_name(self._fn)} (spawn_n)>"


# What ``spawn_n`` returns (and ``getcurrent()`` inside its function): a handle with
# ``dead`` that ``kill`` accepts. The class is private; the name is for type hints.
SpawnN = _Call


class GreenThread(Task, Generic[T]):
    """A function running in a green thread: eventlet's GreenThread and a ``Future``."""

    __slots__ = (
        "_args",
        "_cancelled",
        "_ctx",
        "_exc",
        "_fn",
        "_home",
        "_kwargs",
        "_links",
        "_result",
        "_retrieved",
        "_tb",
        "_timer",
        "_waiters",
    )

    def __init__(self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._glet: greenlet | None = None  # Task.__init__, inlined (spawn is hot)
        self._state = _QUEUED
        if Task.on_new is not None:
            Task.on_new(self)
        self._fn = fn
        self._args: tuple[Any, ...] | None = args
        self._kwargs: dict[str, Any] | None = kwargs
        self._ctx: contextvars.Context | None = contextvars.copy_context()
        self._result: T | None = None
        self._exc: BaseException | None = None
        self._tb: TracebackType | None = None
        self._cancelled = False
        self._retrieved = False
        self._waiters: WaitQueue | None = None
        self._links: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] | None = None
        self._timer: Timer | None = None
        self._home: Hub | None = None  # the hub it runs in, set when scheduled

    # -- running ----------------------------------------------------------

    def _run(self) -> None:
        self._state = _RUNNING
        ctx, args, kwargs = self._ctx, self._args, self._kwargs
        self._ctx = self._args = self._kwargs = None
        try:
            assert ctx is not None and args is not None and kwargs is not None
            # Run in the spawner's copied context by making it the worker greenlet's
            # own: unlike ctx.run(), a plain Python call adds no C stack to save
            # at every switch (memory per parked thread) and no extra call.
            glet = self._glet
            if glet is None:  # run inline by a full pool (greenpool): the caller's greenlet
                result = ctx.run(self._fn, *args, **kwargs)
            else:
                glet.gr_context = ctx
                result = self._fn(*args, **kwargs)
        except BaseException as exc:
            self._finish(None, _trimmed(exc))
        else:
            self._finish(result, None)
        if getattr(self, _LOCALS, None) is not None:  # (reading __dict__ would allocate it)
            thread_ended(self)

    def _finish(self, result: T | None, exc: BaseException | None) -> None:
        self._result = result
        if exc is not None:
            self._exc = exc
            self._tb = exc.__traceback__
        self._state = _DONE
        waiters = self._waiters
        if waiters:
            waiters.unpark_all()
        links = self._links
        if links:
            self._links = None
            for fn, args, kwargs in links:
                self._call_link(fn, args, kwargs)
        if exc is not None and isinstance(exc, (KeyboardInterrupt, SystemExit)):
            self._retrieved = True
            hub = get_hub()
            hub.throw(hub.root, exc, front=True)

    def _call_link(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        try:
            fn(self, *args, **kwargs)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException:
            log.exception("link %s of %r failed", _name(fn), self)

    # -- eventlet's face --------------------------------------------------

    def wait(self) -> T:
        """Wait for the thread to end; return its result or raise its exception."""
        if self._state != _DONE:
            self._wait_done(None)
        return self._outcome()

    def _outcome(self) -> T:
        self._retrieved = True
        exc = self._exc
        if exc is not None:
            raise exc.with_traceback(self._tb)
        return self._result  # type: ignore[return-value]

    def _wait_done(self, timeout: float | None) -> bool:
        if current() is self:
            raise RuntimeError(f"{self!r} cannot wait for itself")
        home = self._home
        if home is not None and home.ident != get_ident():
            if existing_hub() is not None:
                raise CrossThreadError(
                    f"{self!r} runs in another OS thread's hub: green threads of one hub cannot "
                    "wait for those of another (a native thread can)"
                )
            return wait_from_native(home, f"{self!r}.wait", lambda: self._wait_done(timeout), None)
        if self._waiters is None:
            self._waiters = WaitQueue()
        return self._waiters.park(timeout, f"green thread {_name(self._fn)}") is not TIMED_OUT

    def link(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        """Call ``fn(self, *args, **kwargs)`` when the thread ends (now, if it has)."""
        if not callable(fn):
            raise TypeError(f"link() needs a callable, not {fn!r}")
        if self._state == _DONE:
            self._call_link(fn, args, kwargs)
            return
        if self._links is None:
            self._links = []
        self._links.append((fn, args, kwargs))

    def unlink(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> bool:
        """Remove a link added with the same arguments; True if one was removed."""
        try:
            if self._links is not None:
                self._links.remove((fn, args, kwargs))
                return True
        except ValueError:
            pass
        return False

    def kill(self, *throw_args: Any) -> None:
        """Raise ``GreenletExit`` (or ``throw_args``) in the thread; one not yet started never runs.

        The caller yields once, so a started thread handles the exception before
        ``kill`` returns (unless it catches it and blocks again).
        """
        state = self._state
        if state == _DONE:
            return
        exc = _exception_from(throw_args)
        if state == _QUEUED:
            self._cancel(exc)
            return
        if current() is self:
            raise exc
        hub = self._hub()
        assert self._glet is not None
        hub.throw(self._glet, exc)
        hub.yield_now()

    def __await__(self) -> Generator[Any, None, T]:
        """``await gt`` in a coroutine (asyncio hub): its outcome; a cancelled awaiter leaves it running."""
        if self._state != _DONE:
            import asyncio  # the stdlib's: only a coroutine gets here

            future = asyncio.get_running_loop().create_future()

            def ended(_gt: GreenThread[T]) -> None:
                if not future.done():
                    future.set_result(None)

            self.link(ended)
            try:
                yield from future.__await__()
            finally:
                self.unlink(ended)  # cancelled: stop watching, leave the thread running
        return self.wait()

    def throw(self, *throw_args: Any) -> None:
        """eventlet's (greenlet's) name for raising in the thread: the same as ``kill``."""
        self.kill(*throw_args)

    def cancel(self, *throw_args: Any) -> bool:
        """Stop the thread if it has not started yet (then it never runs); True if it was stopped."""
        if self._state != _QUEUED:
            return False
        self._cancel(_exception_from(throw_args))
        return True

    def _cancel(self, exc: BaseException) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._ctx = self._args = self._kwargs = None
        self._cancelled = True
        self._retrieved = True  # nothing ran, so there is nothing to report
        self._finish(None, exc)

    @property
    def dead(self) -> bool:
        """True once the thread has ended (eventlet's name for ``done()``)."""
        return self._state == _DONE

    def __bool__(self) -> bool:
        """False once the thread has ended, as eventlet's (a greenlet's truth); True before."""
        return self._state != _DONE

    # -- concurrent.futures.Future's face ---------------------------------

    def result(self, timeout: float | None = None) -> T:
        """The return value; raises the thread's exception, ``CancelledError`` or ``TimeoutError``."""
        self._wait_for_future(timeout)
        if self._cancelled:
            self._retrieved = True
            raise CancelledError()
        return self._outcome()

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """The exception the thread ended with, or None; raises ``CancelledError`` if cancelled."""
        self._wait_for_future(timeout)
        self._retrieved = True
        if self._cancelled:
            raise CancelledError()
        return self._exc

    def _wait_for_future(self, timeout: float | None) -> None:
        if timeout is not None:
            timeout = check_timeout(timeout)
        if self._state != _DONE and not self._wait_done(timeout):
            raise FuturesTimeoutError(f"{self!r} did not finish within {timeout} seconds")

    def done(self) -> bool:
        """True once the thread has ended, however it ended."""
        return self._state == _DONE

    def cancelled(self) -> bool:
        """True if the thread was stopped before it started."""
        return self._cancelled

    def running(self) -> bool:
        """True while the thread has started and not ended."""
        return self._state == _RUNNING

    def add_done_callback(self, fn: Callable[[GreenThread[T]], object]) -> None:
        """Call ``fn(self)`` when the thread ends (now, if it has); errors are logged."""
        self.link(fn)

    def __repr__(self) -> str:
        if self._state == _QUEUED:
            state = "queued"
        elif self._state == _RUNNING:
            state = "running"
        elif self._cancelled:
            state = "cancelled"
        elif self._exc is not None:
            state = f"raised {type(self._exc).__name__}"
        else:
            state = "finished"
        return f"<GreenThread {_name(self._fn)} {state}>"

    def __del__(self) -> None:
        exc = self._exc
        if exc is None or self._retrieved or isinstance(exc, GreenletExit):
            return
        try:
            log.error(
                "green thread %s raised an exception nobody retrieved", _name(self._fn),
                exc_info=(type(exc), exc, self._tb),
            )
        except Exception:  # interpreter shutdown: logging may already be gone
            pass


def _name(fn: object) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)


def _trimmed(exc: BaseException) -> BaseException:
    """``exc`` without greenlane's own frame at the top of its traceback."""
    tb = exc.__traceback__
    if tb is not None and tb.tb_next is not None:
        exc.__traceback__ = tb.tb_next
    return exc


def _exception_from(throw_args: tuple[Any, ...]) -> BaseException:
    """An exception instance from eventlet-style ``throw_args`` (type[, value[, tb]] or instance)."""
    if not throw_args:
        return GreenletExit()
    first = throw_args[0]
    if isinstance(first, BaseException):
        return first
    if isinstance(first, type) and issubclass(first, BaseException):
        value = throw_args[1] if len(throw_args) > 1 else None
        exc = value if isinstance(value, BaseException) else first() if value is None else first(value)
        if len(throw_args) > 2 and throw_args[2] is not None:
            exc = exc.with_traceback(throw_args[2])
        return exc
    raise TypeError(f"kill() needs an exception class or instance, not {first!r}")
