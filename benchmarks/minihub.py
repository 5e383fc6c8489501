"""The floor: a minimal green-thread loop over raw greenlet, about as short as one can be.

A hub greenlet owns a ready queue and a timer heap; a green thread blocks by
parking itself somewhere (a waiter list, the heap, the ready queue) and
switching to the hub, and the hub switches to whoever is ready next. The main
greenlet blocks the same way, so there is no explicit run call, as in eventlet.
No I/O, no cancellation, no error handling beyond surfacing a deadlock: this is
what greenlane's hot paths are measured against, not a runtime.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

from greenlet import getcurrent, greenlet

T = TypeVar("T")


class MiniHub:
    """Ready queue + timer heap, run in its own greenlet."""

    def __init__(self) -> None:
        self.ready: deque[greenlet] = deque()
        self.timers: list[tuple[float, int, greenlet]] = []
        self._seq = itertools.count()
        self.greenlet = greenlet(self._run)

    def __repr__(self) -> str:
        return f"<MiniHub ready={len(self.ready)} timers={len(self.timers)}>"

    def _run(self) -> None:
        ready, timers = self.ready, self.timers
        while True:
            # 1. Move due timers to the ready queue.
            now = time.monotonic()
            while timers and timers[0][0] <= now:
                ready.append(heapq.heappop(timers)[2])
            # 2. Run what was ready when this pass began; later arrivals wait a pass.
            if ready:
                for _ in range(len(ready)):
                    ready.popleft().switch()
            # 3. Nothing ready: sleep until the next timer is due.
            elif timers:
                time.sleep(max(0.0, timers[0][0] - time.monotonic()))
            else:
                raise RuntimeError("MiniHub: every green thread is blocked and no timer is set")

    def block(self) -> None:
        """Park the current greenlet: the caller has put it where it will be woken from."""
        self.greenlet.switch()

    def spawn(self, fn: Callable[..., T], *args: object) -> MiniThread[T]:
        """Start ``fn(*args)`` in a new green thread at the hub's next pass."""
        thread = MiniThread(self, fn, args)
        self.ready.append(thread.glet)
        return thread

    def sleep(self, seconds: float = 0) -> None:
        """Yield to the others (``seconds=0``) or wait at least ``seconds``."""
        if seconds <= 0:
            self.ready.append(getcurrent())
        else:
            deadline = time.monotonic() + seconds
            heapq.heappush(self.timers, (deadline, next(self._seq), getcurrent()))
        self.block()


class MiniThread(Generic[T]):
    """A green thread whose result can be waited for."""

    __slots__ = ("_args", "_done", "_fn", "_hub", "_result", "_waiters", "glet")

    def __init__(self, hub: MiniHub, fn: Callable[..., T], args: tuple[object, ...]) -> None:
        self._hub = hub
        self._fn = fn
        self._args = args
        self._done = False
        self._result: T | None = None
        self._waiters: list[greenlet] = []
        self.glet = greenlet(self._main, hub.greenlet)

    def __repr__(self) -> str:
        return f"<MiniThread done={self._done} waiters={len(self._waiters)}>"

    def _main(self) -> None:
        self._result = self._fn(*self._args)
        self._done = True
        self._hub.ready.extend(self._waiters)

    def wait(self) -> T:
        """Block until the thread has returned, and return its result."""
        if not self._done:
            self._waiters.append(getcurrent())
            self._hub.block()
        return self._result  # type: ignore[return-value]  # set when _done


class MiniEvent(Generic[T]):
    """Fire once, wake every waiter with the value."""

    __slots__ = ("_hub", "_sent", "_value", "_waiters")

    def __init__(self, hub: MiniHub) -> None:
        self._hub = hub
        self._sent = False
        self._value: T | None = None
        self._waiters: list[greenlet] = []

    def __repr__(self) -> str:
        return f"<MiniEvent sent={self._sent} waiters={len(self._waiters)}>"

    def send(self, value: T) -> None:
        self._sent = True
        self._value = value
        self._hub.ready.extend(self._waiters)
        self._waiters.clear()

    def wait(self) -> T:
        if not self._sent:
            self._waiters.append(getcurrent())
            self._hub.block()
        return self._value  # type: ignore[return-value]  # set when _sent
