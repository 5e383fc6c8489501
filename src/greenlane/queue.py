"""eventlet's queues for green threads: ``Queue``, ``LightQueue``, ``PriorityQueue``, ``LifoQueue``.

**``maxsize=0`` is a channel, not an unbounded queue.** As in eventlet (and
unlike the stdlib's ``queue.Queue``, where 0 means "no limit"), ``Queue(0)``
stores nothing: ``put`` waits until a getter takes the item from its hand.
``Queue()`` / ``Queue(None)`` is the unbounded queue. ``greenlane.green.queue``
(the patched stdlib module) keeps the stdlib's meaning.

How it is built
---------------
A queue is a container (``queue``, made by the ``_init``/``_put``/``_get``
hooks as in asyncio, so a variant is a few lines) plus two FIFO wait queues of
parked green threads, getters and putters. Hand-offs are *direct*, as in
``Semaphore``: a ``put`` that finds a getter waiting gives the item straight to
the longest-waiting one (it never passes through the container, and no later
``get`` can barge in and take it), and a ``get`` that frees a slot moves the
longest-waiting putter's item into the container at once and wakes that
putter. So the state changes only in the calling thread, in one step, and
these invariants hold between steps:

- getters wait only while the container is empty and no putter waits;
- putters wait only while the container is full (``qsize() >= maxsize``).

Hence the hot paths: ``put`` checks "does a getter wait?" and hands over, else
appends; ``get`` pops if there is an item. Each is a few attribute operations
plus the ownership check.

Killed and timed-out waiters never lose or swallow an item:

- a getter that times out was never handed anything (the hub wakes a parked
  thread once: by the timer or by a hand-off, not both);
- a getter killed after being handed an item but before it ran passes the item
  on (the park's ``on_abandon``): to the next waiting getter, else back to the
  *front* of the container, where the next ``get`` finds it first (it may then
  hold one item more than ``maxsize``: it was accepted already);
- a putter's item is *accepted* at the moment a getter or a freed slot takes
  it. A putter killed or timed out before that leaves nothing behind: its item
  never enters the queue (a timeout raises ``Full``). A putter killed after
  that (before it ran again) raises the kill, and its item stays accepted.

Order: items leave in the order they were accepted, and waiters are served
in the order they started waiting. The one exception is an item abandoned by a
killed getter: items handed to other getters in the meantime are not called
back, so it comes out after them.

Unfinished tasks (``Queue``): every accepted item counts one, ``task_done``
takes one off, and ``join`` waits for zero. ``join(timeout)`` returns True
when every task is done, False if ``timeout`` passed first (as gevent's).

Other OS threads (see ``greenlane._core._owner``): the queue belongs to the
hub of the first thread that uses it with a hub. From any other OS thread,
``put`` to an unbounded queue is handed to that hub and returns at once;
``put`` to a bounded queue, ``get`` and ``join`` from a native thread block it
(through ``greenlane._native.wait_from_native``) until a green thread of the
owner did the operation for it; ``task_done`` and ``resize`` are handed over
like an unbounded ``put`` (an error they raise is then logged by the hub, not
raised). While nobody owns the queue yet, a native thread's operation that
need not wait (a put with room, a get of a stored item, the ``*_nowait``
calls) runs at once under the claim lock and leaves the queue unowned, so the
green threads that use it later can own it; a native thread that really has
to wait on a queue nobody owns gets ``CrossThreadError`` (nothing green could
ever wake it: the core's rule).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from heapq import heappop, heappush
from queue import Empty, Full
from typing import Any, Generic, TypeVar

from greenlet import getcurrent, greenlet

from ._core import TIMED_OUT, Owned, WaitQueue, check_timeout, current_hub, existing_hub, get_ident, park
from ._native import wait_from_native

__all__ = ["Empty", "Full", "LifoQueue", "LightQueue", "PriorityQueue", "Queue"]

T = TypeVar("T")
R = TypeVar("R")


def _check_maxsize(size: Any) -> int | None:
    if size is None:
        return None
    if isinstance(size, bool) or not isinstance(size, int):
        raise TypeError(f"queue maxsize must be an int or None, not {size!r}")
    if size < 0:
        raise ValueError(f"queue maxsize must be >= 0 or None, not {size!r} (None is unbounded, 0 a channel)")
    return size


class LightQueue(Owned, Generic[T]):
    """A FIFO queue between green threads, without task tracking (no ``task_done``/``join``).

    ``maxsize=None`` (the default) is unbounded; ``maxsize=0`` is a *channel*:
    every ``put`` waits until a ``get`` takes the item (the stdlib's 0 means
    unbounded: not here, as in eventlet). A negative ``maxsize`` raises
    ``ValueError``. See the module docstring for order and kill semantics.
    """

    __slots__ = (
        "_getter_records",
        "_getters",
        "_maxsize",
        "_putter_records",
        "_putters",
        "_putting",
        "_tasks",
        "queue",
    )

    def __init__(self, maxsize: int | None = None) -> None:
        Owned.__init__(self)
        self._maxsize = _check_maxsize(maxsize)
        self._getters = WaitQueue()
        self._putters = WaitQueue()
        # The parked records themselves, for the hot paths' checks and parks.
        self._getter_records = self._getters.records
        self._putter_records = self._putters.records
        # The items of parked putters, by greenlet; an entry leaves when its
        # item is accepted, or with its putter (timed out or killed).
        self._putting: dict[greenlet, T] = {}
        self._tasks = 0  # items accepted minus task_done() calls (see Queue)
        # The container: any sized object, built and used only by the hooks below.
        self.queue: Any
        self._init(self._maxsize)

    # -- the hooks a variant overrides (asyncio's shape) ------------------

    def _init(self, maxsize: int | None) -> None:
        self.queue = deque()

    def _put(self, item: T) -> None:
        self.queue.append(item)

    def _get(self) -> T:
        return self.queue.popleft()  # type: ignore[no-any-return]

    def _put_back(self, item: T) -> None:
        """Return an item a killed getter had been handed, so that it comes out next."""
        self.queue.appendleft(item)

    # -- introspection ----------------------------------------------------

    @property
    def maxsize(self) -> int | None:
        """The bound: None is unbounded, 0 a channel; assigning it calls ``resize``."""
        return self._maxsize

    @maxsize.setter
    def maxsize(self, size: int | None) -> None:
        self.resize(size)

    def qsize(self) -> int:
        """Items stored now (a channel stores none: its items go hand to hand)."""
        return len(self.queue)

    def empty(self) -> bool:
        """True when no item is stored (on a channel, ``putting()`` says if a get would wait)."""
        return not self.queue

    def full(self) -> bool:
        """True when a ``put`` would wait for room (a channel is always full; None never is)."""
        return self._maxsize is not None and len(self.queue) >= self._maxsize

    def getting(self) -> int:
        """Green threads waiting in ``get``."""
        return len(self._getters)

    def putting(self) -> int:
        """Green threads waiting in ``put``."""
        return len(self._putters)

    # -- put ----------------------------------------------------------------

    def put(self, item: T, block: bool = True, timeout: float | None = None) -> None:
        """Add ``item``, waiting for room if the queue is full (for a channel: for a getter).

        Raises ``Full`` if ``block`` is False and there is no room (nor a
        waiting getter), or if ``timeout`` seconds pass first; ``timeout`` is
        ignored when ``block`` is False, as in the stdlib.
        """
        if timeout is not None and block and not (timeout.__class__ is float and timeout >= 0.0):
            timeout = check_timeout(timeout, "Queue.put() timeout", negative=False)
        if self._owner_ident != get_ident() and self._put_elsewhere(item, block, timeout):
            return
        # Invariant: getters wait only while nothing is stored.
        if self._getter_records:
            self._getters.unpark_one(item)
            self._tasks += 1
            if self._maxsize == 0:
                # A channel is a meeting point: as in eventlet, the getter has run
                # with the item before put() returns.
                current_hub().yield_now()
            return
        maxsize = self._maxsize
        if maxsize is None or len(self.queue) < maxsize:
            self._put(item)
            self._tasks += 1
            return
        if not block or timeout == 0:
            raise Full
        me = getcurrent()
        self._putting[me] = item
        try:
            got = park("queue put", timeout, self._putter_records)
        finally:
            # Still here only if the item was not accepted (timed out or killed).
            self._putting.pop(me, None)
        if got is TIMED_OUT:
            raise Full

    def put_nowait(self, item: T) -> None:
        """Add ``item`` if there is room (or a getter waits); else raise ``Full``."""
        self.put(item, False)

    def _put_elsewhere(self, item: T, block: bool, timeout: float | None) -> bool:
        """``put`` off the owner's thread; True if done (or handed over), False to go on here."""
        if self._maxsize is None:
            return self._elsewhere(self._put_routed, item)
        if self._owner is None:
            try:
                if self._unowned(lambda: self._store(item)):
                    return True
            except Full:
                if not block or timeout == 0:
                    raise
        if self._claim("Queue.put") is None:
            wait_from_native(self._owner, "Queue.put", lambda: self.put(item, block, timeout), None)
            return True
        return False

    def _put_routed(self, item: T) -> None:
        # An unbounded put from another OS thread, run in the owner's hub (or, while
        # nobody owns the queue, in the caller under the claim lock). It may not
        # wait: if a resize bounded the queue meanwhile and it is full, the item
        # is accepted past maxsize rather than lost.
        if not self._getters.unpark_one(item):
            self._put(item)
        self._tasks += 1

    def _store(self, item: T) -> bool:
        """Store ``item`` if there is room, else raise ``Full`` (a queue nobody owns has no waiters)."""
        if self._maxsize is not None and len(self.queue) >= self._maxsize:
            raise Full
        self._put(item)
        self._tasks += 1
        return True

    def _unowned(self, attempt: Callable[[], R]) -> list[R]:
        """For a native thread and a queue nobody owns: ``[attempt()]`` (see ``Owned._try_unowned``).

        ``[]`` when the caller must go on the usual way: it is a hub thread
        (it now owns the queue, or will), or someone claimed the queue first.
        """
        if existing_hub() is not None:
            return []
        return self._try_unowned(attempt)

    # -- get ----------------------------------------------------------------

    def get(self, block: bool = True, timeout: float | None = None) -> T:
        """Remove and return the next item, waiting for one if there is none.

        Raises ``Empty`` if ``block`` is False and no item is ready (nor a
        waiting putter on a channel), or if ``timeout`` seconds pass first;
        ``timeout`` is ignored when ``block`` is False, as in the stdlib.
        """
        if timeout is not None and block and not (timeout.__class__ is float and timeout >= 0.0):
            timeout = check_timeout(timeout, "Queue.get() timeout", negative=False)
        if self._owner_ident != get_ident():
            done = self._get_elsewhere(block, timeout)
            if done:
                return done[0]
        if self.queue:
            item = self._get()
            if self._putter_records:
                self._admit_putters()
            return item
        putters = self._putter_records
        if putters:  # nothing stored yet putters wait: a channel; take from a putter's hand
            item = self._putting.pop(putters[0].glet)
            self._putters.unpark_one(True)
            self._tasks += 1
            return item
        if not block or timeout == 0:
            raise Empty
        got = park("queue get", timeout, self._getter_records, self._pass_on)
        if got is TIMED_OUT:
            raise Empty
        return got  # type: ignore[no-any-return]

    def _get_elsewhere(self, block: bool, timeout: float | None) -> list[T]:
        """``get`` off the owner's thread: ``[item]`` if done, ``[]`` to go on here as the owner."""
        if self._owner is None:
            try:
                done = self._unowned(self._take)
            except Empty:
                if not block or timeout == 0:
                    raise
                done = []
            if done:
                return done
        if self._claim("Queue.get") is None:
            return [
                wait_from_native(
                    self._owner, "Queue.get", lambda: self.get(block, timeout), None, self._pass_on
                )
            ]
        return []

    def _take(self) -> T:
        """Take a stored item, else raise ``Empty`` (a queue nobody owns has no waiters)."""
        if not self.queue:
            raise Empty
        return self._get()

    def get_nowait(self) -> T:
        """Remove and return the next item if one is ready; else raise ``Empty``."""
        return self.get(False)

    def _pass_on(self, item: T) -> None:
        """A getter was killed after being handed ``item``: the next getter gets it, or the front."""
        if not self._getters.unpark_one(item):
            self._put_back(item)

    def _admit_putters(self) -> None:
        """Move waiting putters' items in, oldest first, while there is room."""
        putters = self._putter_records
        queue, maxsize = self.queue, self._maxsize
        while putters and (maxsize is None or len(queue) < maxsize):
            self._put(self._putting.pop(putters[0].glet))
            self._putters.unpark_one(True)
            self._tasks += 1

    # -- resize -------------------------------------------------------------

    def resize(self, size: int | None) -> None:
        """Change ``maxsize``; growing it lets waiting putters in (oldest first), shrinking drops nothing.

        Items already stored beyond a smaller size stay; puts wait until the
        queue is below the new bound.
        """
        size = _check_maxsize(size)
        if self._owner_ident != get_ident() and self._elsewhere(self._resize, size):
            return
        self._resize(size)

    def _resize(self, size: int | None) -> None:
        self._maxsize = size
        if self._putter_records:
            self._admit_putters()

    def _state(self) -> str:
        return (
            f"maxsize={self._maxsize} items={len(self.queue)} "
            f"getters={len(self._getters)} putters={len(self._putters)}"
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._state()}>"


class Queue(LightQueue[T]):
    """eventlet's ``Queue``: a ``LightQueue`` that also counts unfinished tasks (``task_done``/``join``).

    ``maxsize=0`` is a channel, not unbounded (see ``LightQueue``).
    """

    __slots__ = ("_joiners",)

    def __init__(self, maxsize: int | None = None) -> None:
        super().__init__(maxsize)
        self._joiners = WaitQueue()

    @property
    def unfinished_tasks(self) -> int:
        """Items accepted and not yet marked done with ``task_done``."""
        return self._tasks

    def task_done(self) -> None:
        """Mark one item taken from the queue as processed; raises ``ValueError`` if none is left.

        ``join`` returns once every accepted item was marked done.
        """
        if self._owner_ident != get_ident() and self._elsewhere(self._task_done):
            return
        self._task_done()

    def _task_done(self) -> None:
        if self._tasks <= 0:
            raise ValueError(f"task_done() called too many times on {self!r}")
        self._tasks -= 1
        if self._tasks == 0:
            self._joiners.unpark_all(True)

    def join(self, timeout: float | None = None) -> bool:
        """Wait until every accepted item was marked done; False if ``timeout`` passed first."""
        if timeout is not None:
            timeout = check_timeout(timeout, "Queue.join() timeout", negative=False)
        if self._tasks == 0:  # (from any thread: it was zero at this moment)
            return True
        if self._owner_ident != get_ident() and self._claim("Queue.join") is None:
            return wait_from_native(self._owner, "Queue.join", lambda: self.join(timeout), None)
        if self._tasks == 0:
            return True
        if timeout == 0:
            return False
        return park("queue join", timeout, self._joiners.records) is not TIMED_OUT

    def _state(self) -> str:
        joiners = len(self._joiners)
        return f"{super()._state()} tasks={self._tasks}" + (f" joiners={joiners}" if joiners else "")


class PriorityQueue(Queue[T]):
    """A ``Queue`` that hands out the lowest item first (``heapq`` order; e.g. ``(priority, data)``)."""

    __slots__ = ()

    def _init(self, maxsize: int | None) -> None:
        self.queue = []

    def _put(self, item: T) -> None:
        heappush(self.queue, item)

    def _get(self) -> T:
        return heappop(self.queue)  # type: ignore[no-any-return]

    _put_back = _put


class LifoQueue(Queue[T]):
    """A ``Queue`` that hands out the most recently added item first (a stack)."""

    __slots__ = ()

    def _init(self, maxsize: int | None) -> None:
        self.queue = []

    def _put(self, item: T) -> None:
        self.queue.append(item)

    def _get(self) -> T:
        return self.queue.pop()  # type: ignore[no-any-return]

    _put_back = _put
