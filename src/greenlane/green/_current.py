"""What ``threading.current_thread()`` answers once ``threading`` is green.

The stdlib's ``current_thread()`` looks the caller's ident up in
``threading._active`` and, for a thread ``threading`` did not start,
registers a ``_DummyThread`` there that it never removes. An OS thread has
few of those; a server spawns millions of green threads, and each would leave
an object in ``_active`` (so in ``enumerate()`` and ``active_count()``) that
looks like an OS thread.

So ``current_thread_in(module)`` answers, in this order:

- a thread ``threading`` started (green or native), or the main thread: its
  ``Thread`` object from ``_active``, as the stdlib does;
- any other green thread (``spawn``, ``spawn_n``, a pool's, a bare greenlet):
  its ``_GreenThread``, eventlet's wrapper with the ``Thread`` attributes code
  reads (``name``, ``ident``, ``daemon``, ``is_alive()``, ``join()`` and the
  old camelCase names, without the stdlib's deprecation warnings). It is never
  put in ``_active``; it hangs off the green thread's own handle (its
  ``__dict__``) and holds the handle only weakly, so it lives exactly as long
  as the handle, without a registry to clean or a reference cycle for the
  collector;
- a native thread ``original("threading")`` started (the copy has its own
  ``_active``): that ``Thread`` object, as eventlet's fallback to the original
  module gives;
- any other native thread: the stdlib's ``_DummyThread``.

Invariant: in a green thread, ``current_thread().ident == get_ident()``
(``id`` of the green thread's handle, see ``green.thread``); the same handle
always gives the same object.

eventlet differs in one case: in a green thread that is not a
``GreenThread`` (``spawn_n``, a bare greenlet) it answers the OS thread's
``Thread``, since it cannot learn when such a greenlet ends. Here the object
needs no end hook, so every green thread gets its own.
"""

from __future__ import annotations

import itertools
import sys
import weakref
from _thread import get_native_id  # never patched
from types import ModuleType
from typing import Any, Final

from greenlet import getcurrent as _getcurrent

from .._core import current
from .._core import get_ident as _os_get_ident

# Where a green thread's handle keeps its _GreenThread.
_SLOT: Final = "_greenlane_thread"

# eventlet's names: GreenThread-1, GreenThread-2, ... process-wide (next() is atomic under the GIL).
_numbers: Final = itertools.count(1)


class _GreenThread:
    """A green thread as ``threading.current_thread()`` shows it (eventlet's ``_GreenThread``)."""

    __slots__ = ("__weakref__", "_handle", "_ident", "_name", "_native_id")

    def __init__(self, handle: Any, native_id: int) -> None:
        self._handle = weakref.ref(handle)
        self._ident = id(handle)
        self._name = f"GreenThread-{next(_numbers)}"
        self._native_id = native_id

    @property
    def _g(self) -> Any:
        """The green thread's handle (its ``GreenThread``, ``spawn_n`` handle or greenlet); None once gone."""
        return self._handle()

    @property
    def name(self) -> str:
        """``GreenThread-N`` unless set; settable, as a ``Thread``'s."""
        return self._name

    @name.setter
    def name(self, name: object) -> None:
        self._name = str(name)

    def getName(self) -> str:  # threading's (and eventlet's) old name
        """The name (no deprecation warning, as eventlet's)."""
        return self._name

    get_name = getName

    def setName(self, name: object) -> None:  # threading's (and eventlet's) old name
        """Set the name (no deprecation warning, as eventlet's)."""
        self._name = str(name)

    set_name = setName

    @property
    def ident(self) -> int:
        """``threading.get_ident()`` in this green thread: the id of its handle."""
        return self._ident

    @property
    def native_id(self) -> int:
        """The native id of the OS thread the green thread runs in."""
        return self._native_id

    @property
    def daemon(self) -> bool:
        """Always True: nothing waits for green threads at exit (nor for ``Thread``s made in one)."""
        return True

    @daemon.setter
    def daemon(self, daemonic: bool) -> None:
        raise RuntimeError("cannot set daemon status of active thread")

    def isDaemon(self) -> bool:  # threading's (and eventlet's) old name
        """True (see ``daemon``)."""
        return True

    is_daemon = isDaemon

    def is_alive(self) -> bool:
        """True until the green thread ends."""
        handle = self._handle()
        return handle is not None and not handle.dead

    isAlive = is_alive  # eventlet keeps Python 2's name

    def join(self, timeout: float | None = None) -> None:
        """Wait until the green thread ends (at most ``timeout`` seconds), as ``Thread.join``.

        Its result or exception is left where it was (``wait()`` still gets it).
        Only a ``spawn``ed green thread can be joined: the others have nothing
        to wait on, like the stdlib's dummy threads.
        """
        handle = self._handle()
        if handle is None or handle.dead:
            return
        if handle is current():
            raise RuntimeError("cannot join current thread")
        wait = getattr(handle, "_wait_done", None)
        if wait is None:
            raise RuntimeError(f"cannot join {self!r}: only a spawn()ed green thread can be joined")
        wait(None if timeout is None else max(timeout, 0.0))

    def __repr__(self) -> str:
        handle = self._handle()
        return f"<_GreenThread({self._name}, {'ended' if handle is None else repr(handle)})>"


def _of(handle: Any) -> _GreenThread:
    """The ``_GreenThread`` of a green thread's handle, made on first use."""
    thread: _GreenThread | None = handle.__dict__.get(_SLOT)
    if thread is None:
        thread = _GreenThread(handle, get_native_id())
        handle.__dict__[_SLOT] = thread
    return thread


def _started_by_original(ident: int) -> Any:
    """The ``Thread`` of ``original("threading")`` running as OS thread ``ident``, if any."""
    patcher = sys.modules.get("greenlane.patcher")
    copy: ModuleType | None = getattr(patcher, "_originals", {}).get("threading")
    if copy is None:
        return None
    return copy._active.get(ident)


def current_thread_in(module: ModuleType) -> Any:
    """``module.current_thread()`` for ``threading`` (or its green copy): see the module docstring."""
    try:
        glet = _getcurrent()
    except RuntimeError:  # greenlet 3.5+ during interpreter finalization: only the OS thread is left
        glet = None
    if glet is None or glet.parent is None:  # an OS thread's root greenlet
        ident = _os_get_ident()
        thread = module._active.get(ident)
        if thread is None:
            thread = _started_by_original(ident)
        return module._DummyThread() if thread is None else thread
    handle = current()
    thread = module._active.get(id(handle))  # a Thread threading started as a green thread
    return _of(handle) if thread is None else thread
