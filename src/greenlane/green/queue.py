"""Cooperative ``queue``, with the stdlib's meanings (not eventlet's).

``queue.Queue``, ``LifoQueue`` and ``PriorityQueue`` are pure Python over
``threading``'s locks and conditions, so with ``threading`` patched they are
green already, with the stdlib's exact rules: ``maxsize <= 0`` is unbounded, a
negative timeout raises ``ValueError``, ``shutdown()``/``ShutDown`` exist
where the Python has them. (``greenlane.queue`` keeps eventlet's meanings
instead: there ``Queue(0)`` is a channel.) Only ``SimpleQueue`` is C in the
stdlib; it is replaced here.

Used without patching, the names not listed in ``__implements__`` come from a
private copy of ``queue`` built over ``greenlane.green.threading``.
"""

from __future__ import annotations

import queue as _std
from collections import deque
from types import GenericAlias, ModuleType
from typing import Any, Final, Generic, TypeVar

from .._core import check_timeout
from ..semaphore import Semaphore
from . import threading as _green_threading
from ._copies import load_copy, namespace

__implements__: Final = ("SimpleQueue",)

T = TypeVar("T")
Empty: Final = _std.Empty


class SimpleQueue(Generic[T]):
    """An unbounded FIFO queue for green threads (``queue.SimpleQueue``): ``put`` never waits."""

    def __init__(self) -> None:
        self._items: deque[T] = deque()
        self._count = Semaphore(0)

    def put(self, item: T, block: bool = True, timeout: float | None = None) -> None:
        """Add ``item`` (never waits; ``block`` and ``timeout`` are accepted for ``Queue`` compatibility)."""
        self._items.append(item)
        self._count.release()

    def put_nowait(self, item: T) -> None:
        """Add ``item``; the same as ``put``."""
        self.put(item)

    def get(self, block: bool = True, timeout: float | None = None) -> T:
        """Remove and return the oldest item, waiting up to ``timeout`` seconds (None: forever).

        Raises ``queue.Empty`` if none came in time (at once if ``block`` is
        False) and ``ValueError`` for a negative timeout.
        """
        if block and timeout is not None:
            timeout = check_timeout(timeout, "'timeout'")
            if timeout < 0:
                raise ValueError("'timeout' must be a non-negative number")  # the stdlib's words
        got = self._count.acquire(True, timeout) if block else self._count.acquire(False)
        if not got:
            raise Empty
        return self._items.popleft()

    def get_nowait(self) -> T:
        """Remove and return the oldest item, or raise ``queue.Empty``."""
        return self.get(False)

    def empty(self) -> bool:
        """True if no item is waiting."""
        return not self._items

    def qsize(self) -> int:
        """How many items are waiting."""
        return len(self._items)

    __class_getitem__ = classmethod(GenericAlias)  # type: ignore[var-annotated]

    def __repr__(self) -> str:
        return f"<green SimpleQueue size={len(self._items)} getters={len(self._count._waiters)}>"


_copy: list[ModuleType] = []


def _private_copy() -> ModuleType:
    """``queue`` run again over green ``threading`` (built once, on first use)."""
    if not _copy:
        # No SimpleQueue in this _queue: the copy falls back to its pure-Python one,
        # then gets ours; Empty stays the C module's, so one `except` catches both.
        fake_c = namespace("_queue", {"Empty": _std.Empty})
        copy = load_copy("queue", "greenlane.green._queue", {"threading": _green_threading, "_queue": fake_c})
        setattr(copy, "Full", _std.Full)  # noqa: B010  (a module made at run time)
        if hasattr(_std, "ShutDown"):
            setattr(copy, "ShutDown", _std.ShutDown)  # noqa: B010
        setattr(copy, "SimpleQueue", SimpleQueue)  # noqa: B010
        _copy.append(copy)
    return _copy[0]


def __getattr__(name: str) -> Any:
    """``queue``'s other names: the real module's once ``threading`` is patched, else the private copy's."""
    if name.startswith("__"):
        raise AttributeError(name)
    return getattr(_std if _green_threading._patched() else _private_copy(), name)
