"""Cooperative ``_thread``: every thread it starts is a green thread.

This is the layer ``threading`` is built on, so replacing these few names
(``greenlane.patcher`` sets them on ``_thread`` and on ``threading``'s own
module globals) turns the stdlib's ``Thread``, ``Condition``, ``Event``,
``Semaphore``, ``Barrier`` and ``Timer`` green without copying any of them.

Identity. ``get_ident()`` answers the OS thread's own ident in a thread's root
greenlet (the main green thread), and the id of the green thread's handle
everywhere else. So ``threading.main_thread()`` keeps the ident it was
registered with before patching, native threads keep theirs, and each green
thread gets a distinct one (a live object's id is never an OS thread's).

Ending. ``threading.Thread.join`` and the interpreter's wait for non-daemon
threads at exit wait on what the C thread state releases when a thread ends:
the "sentinel" lock from ``_set_sentinel`` (Python 3.12 and older) or the
thread handle (3.13+). Here both are green, and the green thread's bootstrap
releases them when its function returns, whatever way it returns.

Shutdown. greenlet 3.5+ raises ``RuntimeError`` from ``getcurrent()`` once the
interpreter is finalizing (``__del__`` methods and weakref callbacks then may
still take ``logging``'s locks). ``get_ident`` then answers the OS ident, and
the locks fall back to a non-blocking take: only one thread still runs
Python code by then.
"""

from __future__ import annotations

import _thread as _std
import sys
import traceback
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, Final

from greenlet import getcurrent as _getcurrent

from .. import lock as _lock
from .._core import check_timeout, current
from .._core import get_ident as _os_get_ident
from ..corolocal import local
from ..greenthread import spawn

__all__ = [
    "LockType",
    "RLock",
    "allocate_lock",
    "get_ident",
    "start_joinable_thread",
    "start_new_thread",
]

__implements__: Final = tuple(
    name
    for name in (
        "start_new_thread",
        "start_new",
        "start_joinable_thread",
        "allocate_lock",
        "allocate",
        "LockType",
        "Lock",
        "RLock",
        "get_ident",
        "_local",
        "_count",
        "_set_sentinel",
        "_ThreadHandle",
        "_make_thread_handle",
        "_shutdown",
        "set_name",
    )
    if hasattr(_std, name)
)

# The originals (3.13+), captured before patching replaces them in _thread.
_std_make_thread_handle: Final[Any] = getattr(_std, "_make_thread_handle", None)
_std_shutdown: Final[Any] = getattr(_std, "_shutdown", None)
_std_set_name: Final[Any] = getattr(_std, "set_name", None)

# The attribute of a started green thread's handle that holds its sentinels.
_SENTINELS: Final = "_greenlane_sentinels"


def __getattr__(name: str) -> Any:
    """Everything greenlane does not replace is the stdlib's own (``error``, ``stack_size``, ...)."""
    return getattr(_std, name)


def get_ident() -> int:
    """The calling thread's ident: the OS thread's in a root greenlet, the green thread's elsewhere."""
    try:
        glet = _getcurrent()
    except RuntimeError:  # greenlet 3.5+ during interpreter finalization
        return _os_get_ident()
    if glet.parent is None:
        return _os_get_ident()
    return id(current())


_local: Final = local  # _thread's name for threading.local: one per green thread


def _finalizing() -> bool:
    return sys.is_finalizing()


class LockType(_lock.Lock):
    """``_thread.LockType`` for green threads: ``greenlane.lock.Lock``, usable during finalization."""

    __slots__ = ("__weakref__",)

    def acquire(self, blocking: bool = True, timeout: float | None = -1) -> bool:
        """Take the lock (see ``greenlane.lock.Lock.acquire``)."""
        if timeout is not None and check_timeout(timeout, "acquire() timeout") > _TIMEOUT_MAX:
            raise OverflowError("timeout value is too large")
        try:
            return super().acquire(blocking, timeout)
        except RuntimeError:
            if not _finalizing():
                raise
            # Finalizing: a single thread runs; whoever holds the lock is gone.
            self._locked = True
            return True

    acquire_lock = acquire

    def release_lock(self) -> None:
        """``_thread``'s old name for ``release``."""
        self.release()

    def locked_lock(self) -> bool:
        """``_thread``'s old name for ``locked``."""
        return self.locked()

    def __repr__(self) -> str:  # the stdlib's shape, so code matching it keeps working
        state = "locked" if self._locked else "unlocked"
        return f"<{state} green lock object waiters={len(self._waiters)} at {id(self):#x}>"


# A class, not a function: code that keeps ``allocate_lock`` as a class attribute
# (``locktype = _thread.allocate_lock``) calls it through an instance, which would
# bind a function as a method; the builtin it replaces never binds either.
allocate_lock: Final = LockType
allocate: Final = LockType
Lock: Final = LockType  # _thread's name from 3.13; eventlet's green thread has it on every version
# 3.13+ names the lock type ``_thread.lock``; the green module's is its own (not patched into _thread).
lock: Final = LockType
_FINALIZING: Final = object()
_TIMEOUT_MAX: Final = _std.TIMEOUT_MAX


class RLock(_lock.RLock):
    """``_thread.RLock`` for green threads: ``greenlane.lock.RLock``, usable during finalization."""

    __slots__ = ("__weakref__",)

    def __init__(self) -> None:
        super().__init__()
        self._block = LockType()

    def acquire(self, blocking: bool = True, timeout: float | None = -1) -> bool:
        """Take the lock or count one more hold (see ``greenlane.lock.RLock.acquire``)."""
        try:
            return super().acquire(blocking, timeout)
        except RuntimeError:
            if not _finalizing():
                raise
            if self._holder is not _FINALIZING:
                self._holder, self._count = _FINALIZING, 0
            self._block._locked = True
            self._count += 1
            return True

    def release(self) -> None:
        """Undo one ``acquire`` (see ``greenlane.lock.RLock.release``)."""
        if self._holder is _FINALIZING:
            self._count -= 1
            if not self._count:
                self._holder = None
                self._block._locked = False
            return
        super().release()

    def _is_owned(self) -> bool:
        try:
            return super()._is_owned()
        except RuntimeError:
            return self._holder is _FINALIZING

    def __repr__(self) -> str:  # the stdlib's shape; the owner is the holding green thread's id
        holder = self._holder
        state = "locked" if self._count else "unlocked"
        owner = 0 if holder is None else id(holder)
        return (f"<{state} green RLock object owner={owner} count={self._count} "
                f"waiters={len(self._block._waiters)} at {id(self):#x}>")


class _ThreadHandle:
    """What ``threading`` (3.13+) holds to join a thread: green, done when its function returns."""

    __slots__ = ("_done", "_ended", "ident")

    def __init__(self, ident: int | None = None) -> None:
        self.ident = ident
        self._done = False
        self._ended = LockType()
        self._ended._locked = True  # released by _set_done

    def is_done(self) -> bool:
        """True once the thread's function has returned."""
        return self._done

    def _set_done(self) -> None:
        if not self._done:
            self._done = True
            self._ended.release()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread to end (at most ``timeout`` seconds; None or -1: forever)."""
        if self._done:
            return
        if self.ident is not None and self.ident == get_ident():
            raise RuntimeError("Cannot join current thread")
        wait = -1 if timeout is None or check_timeout(timeout, "join() timeout") < 0 else timeout
        if self._ended.acquire(True, wait):
            self._ended.release()

    def __repr__(self) -> str:
        return f"<green _ThreadHandle ident={self.ident} {'done' if self._done else 'running'}>"


def set_name(name: str) -> None:
    """Name the OS thread (3.14+) from its main green thread; other green threads share it, so no-op."""
    try:
        root = _getcurrent().parent is None
    except RuntimeError:
        root = True
    if root and _std_set_name is not None:
        _std_set_name(name)


def _make_thread_handle(ident: int) -> Any:
    """A handle for a thread that was not started here (3.13+): the OS's for an OS thread."""
    if ident == _os_get_ident():
        return _std_make_thread_handle(ident)
    return _ThreadHandle(ident)


# Green threads started here and not yet ended; daemon=False ones are joined by _shutdown.
_started: dict[int, tuple[Any, bool]] = {}


def _count() -> int:
    """How many green threads started here are still running (``_thread._count``)."""
    return len(_started)


def _set_sentinel() -> LockType:
    """A lock, held, that is released when the calling green thread ends (Python 3.12 and older)."""
    lock = LockType()
    me = current()
    try:
        sentinels: list[LockType] = me.__dict__.setdefault(_SENTINELS, [])
    except AttributeError:  # a thread's root greenlet: it ends with the OS thread
        return lock
    sentinels.append(lock)
    return lock


def _report(function: Callable[..., object], exc: BaseException) -> None:
    """``_thread``'s rule for an exception escaping a thread: ``sys.unraisablehook``, and carry on."""
    hook = sys.unraisablehook
    if hook is not sys.__unraisablehook__:  # the default one accepts only its own C argument type
        hook(SimpleNamespace(
            exc_type=type(exc), exc_value=exc, exc_traceback=exc.__traceback__,
            err_msg="Exception ignored in thread started by", object=function,
        ))
        return
    try:
        print(f"Exception ignored in thread started by: {function!r}", file=sys.stderr)
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    except Exception:  # stderr gone (shutdown): nothing left to tell
        pass


def _bootstrap(
    function: Callable[..., object], args: tuple[Any, ...], kwargs: dict[str, Any], handle: Any
) -> None:
    me = current()
    try:
        function(*args, **kwargs)
    except SystemExit:
        pass
    except BaseException as exc:  # _thread's rule: reported, the thread just ends
        _report(function, exc)
    finally:
        _started.pop(id(me), None)
        for lock in me.__dict__.pop(_SENTINELS, ()):
            if lock.locked():
                lock.release()
        if handle is not None:
            handle._set_done()


def _start(function: Callable[..., object], args: tuple[Any, ...], kwargs: dict[str, Any],
           handle: Any, daemon: bool) -> int:
    if not callable(function):
        raise TypeError("first arg must be callable")
    gt = spawn(_bootstrap, function, args, kwargs, handle)
    ident = id(gt)
    _started[ident] = (handle, daemon)
    if handle is not None:
        handle.ident = ident
    return ident


def start_new_thread(function: Callable[..., object], args: tuple[Any, ...],
                     kwargs: dict[str, Any] | None = None) -> int:
    """Run ``function(*args, **kwargs)`` in a new green thread; returns its ident."""
    if not isinstance(args, tuple):
        raise TypeError("2nd arg must be a tuple")
    if kwargs is not None and not isinstance(kwargs, dict):
        raise TypeError("optional 3rd arg must be a dictionary")
    return _start(function, args, kwargs or {}, None, True)


start_new = start_new_thread


def start_joinable_thread(function: Callable[..., object], handle: Any = None,
                          daemon: bool = True) -> Any:
    """Run ``function()`` in a new green thread; returns its joinable handle (Python 3.13+)."""
    if handle is None:
        handle = _ThreadHandle()
    elif not isinstance(handle, _ThreadHandle):
        raise TypeError(f"handle must be a green _ThreadHandle, not {handle!r}")
    elif handle.ident is not None:  # a handle is for one thread, as _thread's is
        raise RuntimeError(f"thread already started: {handle!r}")
    _start(function, (), {}, handle, daemon)
    return handle


def _shutdown() -> None:
    """Wait for every non-daemon green thread, then for the OS threads (``_thread._shutdown``)."""
    while True:
        waiting = [handle for handle, daemon in list(_started.values()) if not daemon and handle is not None]
        if not waiting:
            break
        for handle in waiting:
            handle.join()
    _std_shutdown()


