"""The hub's timer heap: O(log n) add, O(1) cancel, compaction when dead entries dominate.

An entry is a plain list ``[when, seq, callback, args]``: list comparison in
C orders it by deadline, ``seq`` keeps equal deadlines FIFO (and, being
unique, stops comparison before it reaches the callback), and the entry itself
is the cancellation handle. One small allocation per timer matters: parks with
a timeout set one each, and with thousands of sleeping threads every extra
GC-tracked object makes the collector's passes longer.

Cancellation is lazy: a cancelled entry (``callback`` set to None) stays in
the heap and is dropped when it reaches the top. Timeout-heavy code (a
``Timeout`` around every socket call) cancels almost every timer it sets, so
left alone the heap would fill with corpses; when cancelled entries are more
than half of a heap larger than ``COMPACT_MIN``, the heap is rebuilt from the
live ones (O(n), amortised over the n cancellations that made it necessary).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from itertools import count
from typing import Any, Final

__all__ = ["Timer", "TimerHeap"]

# Below this size a heap full of cancelled entries costs less than rebuilding it.
COMPACT_MIN: Final = 64

# Entry fields.
WHEN: Final = 0
CALLBACK: Final = 2
ARGS: Final = 3

Entry = list[Any]


class TimerHeap:
    """Min-heap of timer entries by deadline with lazy cancellation."""

    __slots__ = ("_cancelled", "_heap", "_seq")

    def __init__(self) -> None:
        self._heap: list[Entry] = []
        self._seq = count()
        self._cancelled = 0

    def __len__(self) -> int:
        """Number of live (not cancelled) timers."""
        return len(self._heap) - self._cancelled

    def add(self, when: float, callback: Callable[..., Any], args: tuple[Any, ...]) -> Entry:
        """Schedule ``callback(*args)`` at monotonic time ``when``; returns the entry."""
        entry = [when, next(self._seq), callback, args]
        heapq.heappush(self._heap, entry)
        return entry

    def cancel(self, entry: Entry) -> None:
        """Stop ``entry`` from firing (no effect once it fired or was cancelled)."""
        if entry[CALLBACK] is None:
            return
        entry[CALLBACK] = None
        entry[ARGS] = ()
        self._cancelled += 1
        heap = self._heap
        if self._cancelled > len(heap) // 2 and len(heap) > COMPACT_MIN:
            heap[:] = [e for e in heap if e[CALLBACK] is not None]
            heapq.heapify(heap)
            self._cancelled = 0

    def next_deadline(self) -> float | None:
        """The earliest live deadline, or None when no timer is pending."""
        heap = self._heap
        while heap:
            entry = heap[0]
            if entry[CALLBACK] is not None:
                return entry[WHEN]  # type: ignore[no-any-return]
            heapq.heappop(heap)
            self._cancelled -= 1
        return None

    def run_due(self, now: float) -> None:
        """Call every live timer due at ``now``, earliest first.

        If a callback raises, the rest stay queued for the next call.
        """
        heap = self._heap
        pop = heapq.heappop
        while heap and heap[0][WHEN] <= now:
            entry = pop(heap)
            callback = entry[CALLBACK]
            if callback is None:
                self._cancelled -= 1
            else:
                entry[CALLBACK] = None  # fired: a later cancel() is a no-op
                callback(*entry[ARGS])

    def live(self) -> list[Entry]:
        """The pending entries, earliest first (for debugging)."""
        return sorted(e for e in self._heap if e[CALLBACK] is not None)


class Timer:
    """A callback scheduled on a hub (``Hub.call_later``); ``cancel()`` is O(1) and idempotent."""

    __slots__ = ("_entry", "_heap")

    def __init__(self, heap: TimerHeap, entry: Entry) -> None:
        self._heap = heap
        self._entry = entry

    @property
    def when(self) -> float:
        """The hub-clock time at which it fires."""
        return self._entry[WHEN]  # type: ignore[no-any-return]

    @property
    def pending(self) -> bool:
        """True while the timer may still fire."""
        return self._entry[CALLBACK] is not None

    def cancel(self) -> None:
        """Stop the timer from firing (no effect once it fired or was cancelled)."""
        self._heap.cancel(self._entry)

    def __repr__(self) -> str:
        callback = self._entry[CALLBACK]
        name = getattr(callback, "__qualname__", repr(callback))
        state = f"pending callback={name}" if callback is not None else "done"
        return f"<Timer {state} when={self._entry[WHEN]:.6f}>"
