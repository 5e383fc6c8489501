"""Cooperative ``threading``: the stdlib's own classes, over green ``_thread``.

``threading`` is pure Python over ``_thread``. It looks up the handful of
``_thread`` functions it needs (``_start_new_thread``, ``_allocate_lock``,
``_set_sentinel`` or the 3.13+ thread-handle API, ``get_ident``, ``_CRLock``,
``local``) as module globals at call time, so ``greenlane.patcher`` replaces
exactly those names (``__implements__``) in the real module. Its ``Thread``,
``Condition``, ``Event``, ``Semaphore``, ``Barrier`` and ``Timer`` then run
on green threads and green locks with their exact stdlib behaviour, and
classes defined before patching (``class Worker(threading.Thread)``) are
green as well: there is one ``threading``, not two.

Used without patching (``from greenlane.green import threading``), the names
not listed here come from a private copy of ``threading`` built over green
``_thread`` (see ``_copies``); once ``threading`` is patched they come from
the real module.

Two additions. ``current_thread()`` in a green thread that ``threading`` did
not start registers a ``_DummyThread``, which the stdlib keeps forever (an OS
thread has few of them; a server spawns millions of green threads). Here it
is forgotten when its green thread ends.

And fork. ``threading``'s own after-fork hook assumes only the forking thread
survives: it makes that thread the main thread and marks every other one
stopped. In a patched process every green thread survives a fork, and so does
the main green thread (the OS thread's root greenlet). Once patched, a second
hook (``_restore_after_fork``, run after ``threading``'s) puts back the main
thread and the green threads' ``Thread`` objects as they were before the fork,
so ``main_thread()``, ``join``, ``is_alive`` and the join of non-daemon threads
at exit keep working in the child. OS threads other than the forking one are
gone in the child, and stay stopped.
"""

from __future__ import annotations

import atexit
import threading as _std
import weakref
from types import ModuleType
from typing import Any, Final

from .._core import allocate_lock as _original_allocate_lock
from .._core import current
from . import thread as _green_thread
from ._copies import load_copy

_start_new_thread: Final = _green_thread.start_new_thread
_allocate_lock: Final = _green_thread.allocate_lock
Lock: Final = _green_thread.allocate_lock
_CRLock: Final = _green_thread.RLock
get_ident: Final = _green_thread.get_ident
local: Final = _green_thread._local
# Python 3.12 and older
_set_sentinel: Final = _green_thread._set_sentinel
# Python 3.13+
_LockType: Final = _green_thread.LockType
_start_joinable_thread: Final = _green_thread.start_joinable_thread
_ThreadHandle: Final = _green_thread._ThreadHandle
_make_thread_handle: Final = _green_thread._make_thread_handle
_thread_shutdown: Final = _green_thread._shutdown
# Python 3.14+
_set_name: Final = _green_thread.set_name


def _forget_dummy(active: dict[int, Any], ident: int, dummy_ref: weakref.ref[Any]) -> None:
    if active.get(ident) is dummy_ref():
        active.pop(ident, None)


def _dummy_class(module: ModuleType) -> type:
    """``module._DummyThread``, forgotten when its green thread ends (see the module docstring)."""
    base: type = module._DummyThread

    class _DummyThread(base):  # type: ignore[misc]
        """A thread object for a green thread ``threading`` did not start; dropped when it ends."""

        def __init__(self) -> None:
            me = current()
            green = getattr(me, "parent", True) is not None  # not an OS thread's root greenlet
            # 3.13+: the base class parks a tracker in a thread-local slot whose __del__ drops the
            # dummy from _active when the OS thread ends. Green threads share their OS thread's
            # slot: ours would evict the OS thread's own tracker, and the last one would die at
            # interpreter exit, after threading's globals are gone (an unraisable TypeError).
            # The finalizer below does its job, so the slot keeps what it held.
            slot = getattr(module, "_thread_local_info", None) if green else None
            held = getattr(slot, "_track_dummy_thread_ref", None)
            super().__init__()
            if slot is not None:
                ours = getattr(slot, "_track_dummy_thread_ref", None)
                if ours is not None and ours is not held:
                    ours._dummy_thread = None  # its __del__ then finds nothing of its own to drop
                if held is None:
                    slot.__dict__.pop("_track_dummy_thread_ref", None)
                else:
                    slot._track_dummy_thread_ref = held
            if green:
                weakref.finalize(me, _forget_dummy, module._active, self._ident, weakref.ref(self))

    _DummyThread.__qualname__ = _DummyThread.__name__ = "_DummyThread"
    return _DummyThread


_DummyThread: Final = _dummy_class(_std)

__implements__: Final = tuple(
    name
    for name in (
        "_start_new_thread",
        "_allocate_lock",
        "Lock",
        "_CRLock",
        "get_ident",
        "local",
        "_set_sentinel",
        "_LockType",
        "_start_joinable_thread",
        "_ThreadHandle",
        "_make_thread_handle",
        "_thread_shutdown",
        "_set_name",
        "_DummyThread",
    )
    if hasattr(_std, name) or name in ("Lock", "local")
)

_copy: list[ModuleType] = []

# threading's state just before a fork (one entry while forking).
_before_fork: list[tuple[Any, dict[int, Any], dict[Any, Any]]] = []


def _snapshot_before_fork() -> None:
    locks = {t: getattr(t, "_tstate_lock", None) for t in list(_std._active.values())}  # type: ignore[attr-defined]
    _before_fork.append((_std.main_thread(), dict(_std._active), locks))  # type: ignore[attr-defined]


def _forget_snapshot() -> None:
    _before_fork.clear()


def _restore_after_fork() -> None:
    """In a forked child: the main thread and the green threads' ``Thread`` objects are alive again."""
    if not _before_fork:
        return
    main, active, tstate_locks = _before_fork.pop()
    _before_fork.clear()
    green = set(_green_thread._started)
    now = _std._active  # type: ignore[attr-defined]
    alive = {
        ident: t for ident, t in active.items()
        if t is main or ident in green or isinstance(t, _DummyThread) or t is now.get(ident)
    }
    for ident, thread in alive.items():
        if thread is main or now.get(ident) is thread:
            continue  # the forking thread: threading already reset it
        if hasattr(thread, "_is_stopped"):
            thread._is_stopped = False
        lock = tstate_locks.get(thread)
        if lock is not None:  # 3.12 and older: the green sentinel, still held by its running thread
            thread._tstate_lock = lock
            if not thread.daemon:
                _std._shutdown_locks.add(lock)  # type: ignore[attr-defined]
    forking = _std._main_thread  # type: ignore[attr-defined]
    if forking is not main:
        # Forked in a green thread: the OS thread is still the main one, and it carries on.
        if forking not in active.values():  # a _MainThread threading made up for a _thread thread
            now.pop(forking.ident, None)
        if hasattr(main, "_tstate_lock"):  # 3.12 and older
            lock = _original_allocate_lock()
            lock.acquire()
            main._tstate_lock = lock
            main._is_stopped = False
        _std._main_thread = main  # type: ignore[attr-defined]
    now.update(alive)


def _after_patch() -> None:
    """Called by ``greenlane.patcher`` once ``threading`` is patched: install the fork hooks."""
    import os

    os.register_at_fork(
        before=_snapshot_before_fork, after_in_parent=_forget_snapshot, after_in_child=_restore_after_fork
    )


def _patched() -> bool:
    return _std.get_ident is get_ident


def _private_copy() -> ModuleType:
    """``threading`` run again over green ``_thread`` (built once, on first use)."""
    if not _copy:
        copy = load_copy("threading", "greenlane.green._threading", {"_thread": _green_thread})
        # Exceptions stay the stdlib's, so `except threading.BrokenBarrierError` works for both.
        copy.BrokenBarrierError = _std.BrokenBarrierError  # type: ignore[attr-defined]
        copy._DummyThread = _dummy_class(copy)  # type: ignore[attr-defined]
        atexit.register(copy._shutdown)  # the interpreter joins only the real module's threads
        _copy.append(copy)
    return _copy[0]


def __getattr__(name: str) -> Any:
    """``threading``'s other names: the real module's once patched, else the green private copy's."""
    if name.startswith("__"):
        raise AttributeError(name)
    return getattr(_std if _patched() else _private_copy(), name)
