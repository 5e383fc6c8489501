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

One addition: ``current_thread()`` in a green thread that ``threading`` did
not start registers a ``_DummyThread``, which the stdlib keeps forever (an OS
thread has few of them; a server spawns millions of green threads). Here it
is forgotten when its green thread ends.
"""

from __future__ import annotations

import atexit
import threading as _std
import weakref
from types import ModuleType
from typing import Any, Final

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
            super().__init__()
            me = current()
            if getattr(me, "parent", True) is not None:  # not an OS thread's root greenlet
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
