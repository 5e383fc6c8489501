"""Which OS thread a green primitive belongs to, and how other threads reach it.

A primitive (Event, Semaphore, Lock, Queue, ...) is *owned* by the hub of the
first thread that uses it with a hub; from then on, its state is only ever
touched in that thread. That is what keeps its fast paths lock-free:

- a call from the owner's thread runs directly;
- a *signal* (``send``, ``release``, ``put``, ...) from any other OS thread,
  a native thread (no hub) included, is handed to the owner's hub through
  ``call_soon_threadsafe`` and runs there (fire-and-forget: it returns None
  at once, and an error it raises is logged by the hub);
- a *wait* from a native thread is run by a green thread of the owner's hub
  while the native thread blocks on a real lock (``greenlane._native``);
- a *wait* from a green thread of another hub is a ``CrossThreadError``:
  one primitive's waiters must share a hub.

Before anyone owns it, callers take one process-wide lock for the moment
they claim it (hub threads) or use it (native threads), so a native thread's
signal can never interleave with a green thread's check-then-park.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from . import _stdlib
from ._errors import CrossThreadError
from ._threadhub import existing_hub, get_hub
from ._wakers import is_main_thread

if TYPE_CHECKING:
    from ._hub import Hub

__all__ = ["Owned"]

R = TypeVar("R")

_claim_lock = _stdlib.allocate_lock()


class Owned:
    """Base of green primitives: tracks the owning hub (see the module docstring)."""

    __slots__ = ("_owner", "_owner_ident")

    def __init__(self) -> None:
        self._owner: Hub | None = None
        self._owner_ident = -1

    def _elsewhere(self, body: Callable[..., Any], *args: Any) -> bool:
        """Route a signal made off the owner's thread; True if it was handled here.

        Callers write::

            def release(self):
                if self._owner_ident != get_ident() and self._elsewhere(self._release):
                    return
                self._release()

        False means the calling thread now owns the primitive: run ``body`` now.
        """
        hub = existing_hub()
        with _claim_lock:
            owner = self._owner
            if owner is None:
                if hub is None:  # a native thread, and no green thread can be inside
                    body(*args)
                    return True
                self._owner, self._owner_ident = hub, hub.ident
                return False
        if owner.ident == _stdlib.get_ident():
            return False
        owner.call_soon_threadsafe(body, *args)
        return True

    def _claim(self, what: str) -> Hub | None:
        """For a wait off the owner's thread: make this thread's hub the owner, or refuse.

        Returns None when the caller is a native thread: one without a hub
        (the main thread excepted: it is where green threads live, and gets a
        hub). A native thread never becomes an owner: its hub would run no
        loop once the call returned, and strand the primitive. It may finish
        a call that need not wait with ``_try_unowned``, else it waits through
        ``greenlane._native.wait_from_native``.
        """
        hub = existing_hub()
        if hub is None and is_main_thread(_stdlib.get_ident()):
            hub = get_hub()
        with _claim_lock:
            owner = self._owner
            if owner is None and hub is not None:
                self._owner, self._owner_ident = hub, hub.ident
                return hub
        if owner is not None and hub is not None and owner is not hub:
            raise CrossThreadError(
                f"{what}: {self!r} already has waiters in another OS thread's hub; the green "
                "threads waiting on one primitive must share a hub (an OS thread)"
            )
        return hub

    def _try_unowned(self, attempt: Callable[[], R]) -> list[R]:
        """For a native thread: ``[attempt()]`` if nobody owns the primitive, else ``[]``.

        ``attempt`` must not wait (a non-blocking try); it runs under the claim
        lock, so no green thread can be inside, and the primitive stays unowned
        for the green threads that will use it.
        """
        with _claim_lock:
            if self._owner is None:
                return [attempt()]
        return []


def _after_fork_in_child() -> None:
    # Another thread may have held the lock at the fork; it does not exist here.
    global _claim_lock
    _claim_lock = _stdlib.allocate_lock()


os.register_at_fork(after_in_child=_after_fork_in_child)
