"""eventlet's ``pools``: a bounded set of reusable resources (connections, clients, tokens).

A ``Pool`` hands out items it creates on demand with ``create()``, at most
``max_size`` of them checked out at once; ``get`` parks the green thread
while all are out, and ``put`` gives a returned item straight to the
longest-waiting getter (FIFO, no barging: a later ``get`` cannot take it
first) or keeps it for the next ``get``. cinder, swift and gunicorn use it
for connection pools; ``TokenPool`` is a counting semaphore whose tokens are
objects.

Counts, kept as eventlet keeps them:

- ``current_size``: items that exist (created and not dropped), checked out
  or free;
- ``free_items``: the created items not checked out;
- getters that found neither a free item nor room to create one park in a
  FIFO wait queue (greenlane's one parking primitive).

Invariant: ``free_items`` is empty while a getter waits (``put`` hands the
item over instead of storing it). A getter killed or timed out after being
handed an item but before it ran passes the item on (the park's
``on_abandon``): to the next getter, else back to ``free_items``, so an item
is never lost. Shrinking with ``resize`` drops items as they come back until
``current_size`` fits, and never takes one from a holder.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

from ._core import WaitQueue, park

__all__ = ["Pool", "Token", "TokenPool"]

T = TypeVar("T")


class Pool(Generic[T]):
    """Up to ``max_size`` items made by ``create()``, lent out by ``get`` and returned by ``put``.

    Pass ``create`` (a callable without arguments) or override ``create`` in
    a subclass. ``min_size`` items are created at once. With
    ``order_as_stack`` the most recently returned item is lent first (it is
    warm); by default items are lent round-robin.
    """

    def __init__(
        self,
        min_size: int = 0,
        max_size: int = 4,
        order_as_stack: bool = False,
        create: Callable[[], T] | None = None,
    ) -> None:
        if min_size < 0 or max_size < 0:
            raise ValueError(f"Pool sizes must be >= 0, not min_size={min_size!r} max_size={max_size!r}")
        self.min_size = min_size
        self.max_size = max_size
        self.order_as_stack = order_as_stack
        self.current_size = 0
        self.free_items: deque[T] = deque()
        self._getters = WaitQueue()
        if create is not None:
            self.create = create  # type: ignore[method-assign]
        for _ in range(min_size):
            self.current_size += 1
            self.free_items.append(self.create())

    def get(self) -> T:
        """An item: a free one, a new one while fewer than ``max_size`` exist, else wait for a ``put``."""
        if self.free_items:
            return self.free_items.popleft()
        if self.current_size < self.max_size:
            self.current_size += 1  # counted before create(), which may switch
            try:
                return self.create()
            except BaseException:
                self.current_size -= 1
                raise
        item: T = park("Pool.get", None, self._getters.records, self._pass_on)
        return item

    def _pass_on(self, item: T) -> None:
        """A getter handed ``item`` left before taking it: the item goes on as if put back."""
        self._give(item)

    @contextmanager
    def item(self) -> Iterator[T]:
        """``with pool.item() as obj:``: ``get`` an item and ``put`` it back afterwards."""
        obj = self.get()
        try:
            yield obj
        finally:
            self.put(obj)

    def put(self, item: T) -> None:
        """Return ``item``: to the longest waiter if any, else to the free items (dropped while over size)."""
        if self.current_size > self.max_size:
            self.current_size -= 1  # shrinking: this one is not kept
            return
        self._give(item)

    def _give(self, item: T) -> None:
        if self._getters.unpark_one(item):
            return
        if self.order_as_stack:
            self.free_items.appendleft(item)
        else:
            self.free_items.append(item)

    def resize(self, new_size: int) -> None:
        """Change ``max_size``; items out now are dropped as they return until the pool fits."""
        if new_size < 0:
            raise ValueError(f"Pool size must be >= 0, not {new_size!r}")
        self.max_size = new_size

    def free(self) -> int:
        """How many ``get`` calls would not wait now."""
        return len(self.free_items) + self.max_size - self.current_size

    def waiting(self) -> int:
        """Green threads waiting in ``get``."""
        return len(self._getters)

    def create(self) -> T:
        """Make a new item: override it, or pass ``create=`` to the constructor."""
        raise NotImplementedError(f"{type(self).__name__} needs create= or a create() method")

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} max_size={self.max_size} current_size={self.current_size} "
            f"free={len(self.free_items)} waiting={self.waiting()}>"
        )


class Token:
    """An opaque object a ``TokenPool`` lends out."""


class TokenPool(Pool[Token]):
    """A pool of ``Token`` s: holding one is the right to use some limited resource."""

    def create(self) -> Token:
        """A new ``Token``."""
        return Token()


