"""The hub's timers: O(log n) add, O(1) cancel, compaction when dead entries dominate.

The heap holds bare float deadlines, not tuples: ``heapq`` then compares
floats directly, about three times cheaper than comparing ``(when, seq,
...)`` tuples element by element, and with 10k sleeping threads every
``sleep`` pays log2(10k) ~ 14 comparisons twice. Timers sharing a deadline
share one heap slot: ``_due[when]`` is the one entry set for that deadline,
or a bucket ``[MANY, entry, entry, ...]`` in the order they were set (FIFO;
the virtual clock makes equal deadlines common). Keeping a lone entry
unwrapped saves an allocation per timer, which matters: with thousands of
sleeping threads, every object that outlives a sleep lengthens the garbage
collector's full passes.

An entry is a plain list ``[when, callback, args]`` and is its own
cancellation handle: one small allocation per timer. Cancelling sets the
callback to None and leaves the entry where it is (lazy); when cancelled
entries are more than half of more than ``COMPACT_MIN``, the structure is
rebuilt from the live ones (O(n), amortised over the n cancellations that
made it necessary). Timeout-heavy code (a ``Timeout`` around every socket
call) cancels almost every timer it sets, so this matters.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any, Final

__all__ = ["Timer", "TimerHeap"]

# Below this size a heap full of cancelled entries costs less than rebuilding it.
COMPACT_MIN: Final = 64

# Entry fields.
WHEN: Final = 0
CALLBACK: Final = 1
ARGS: Final = 2

Entry = list[Any]

# Marks a list in ``_due`` as a bucket of entries rather than one entry.
MANY: Final = object()


class TimerHeap:
    """Timer entries by deadline, earliest first, with lazy cancellation."""

    __slots__ = ("_cancelled", "_count", "_due", "_heap")

    def __init__(self) -> None:
        self._heap: list[float] = []  # distinct deadlines
        self._due: dict[float, Entry] = {}  # deadline -> entry, or [MANY, entries...]
        self._count = 0  # entries held, cancelled ones included
        self._cancelled = 0

    def __len__(self) -> int:
        """Number of live (not cancelled) timers."""
        return self._count - self._cancelled

    def add(self, when: float, callback: Callable[..., Any], args: tuple[Any, ...]) -> Entry:
        """Schedule ``callback(*args)`` at hub-clock time ``when``; returns the entry."""
        entry = [when, callback, args]
        self._insert(entry)
        return entry

    def add_reusing(
        self, spare: Entry | None, when: float, callback: Callable[..., Any], args: tuple[Any, ...]
    ) -> Entry:
        """``add``, refilling ``spare`` if it has left the heap (its WHEN is None) instead of allocating.

        A parked thread keeps its last timer entry: a ``sleep`` loop then
        allocates nothing per sleep (fired entries leave at once; cancelled
        ones stay until popped, and are not reused before).
        """
        if spare is None or spare[WHEN] is not None:
            return self.add(when, callback, args)
        spare[WHEN] = when
        spare[CALLBACK] = callback
        spare[ARGS] = args
        self._insert(spare)
        return spare

    def cancel(self, entry: Entry) -> None:
        """Stop ``entry`` from firing (no effect once it fired or was cancelled)."""
        if entry[CALLBACK] is None:
            return
        entry[CALLBACK] = None
        entry[ARGS] = ()
        self._cancelled += 1
        if self._cancelled > self._count // 2 and self._count > COMPACT_MIN:
            self._compact()

    def _compact(self) -> None:
        entries = [e for held in self._due.values() for e in _entries(held) if e[CALLBACK] is not None]
        self.clear()
        for entry in entries:
            self._insert(entry)

    def _insert(self, entry: Entry) -> None:
        when = entry[WHEN]
        held = self._due.get(when)
        if held is None:
            self._due[when] = entry
            heapq.heappush(self._heap, when)
        elif held[0] is MANY:
            held.append(entry)
        else:
            self._due[when] = [MANY, held, entry]
        self._count += 1

    def next_deadline(self) -> float | None:
        """The earliest live deadline, or None when no timer is pending."""
        heap, due = self._heap, self._due
        while heap:
            when = heap[0]
            entries = _entries(due[when])
            if any(e[CALLBACK] is not None for e in entries):
                return when
            heapq.heappop(heap)
            del due[when]
            self._count -= len(entries)
            self._cancelled -= len(entries)
        return None

    def first_due(self) -> float:
        """The earliest deadline held, cancelled or not (inf if none): a cheap pre-check."""
        return self._heap[0] if self._heap else float("inf")

    def run_due(self, now: float) -> None:
        """Call every live timer due at ``now``, earliest first, FIFO among equals.

        If a callback raises, the timers not yet called stay queued for the next call.
        """
        heap, due = self._heap, self._due
        while heap and heap[0] <= now:
            held = due[heap[0]]
            if held[0] is not MANY:  # the common case: one timer for this deadline
                del due[heapq.heappop(heap)]
                self._count -= 1
                held[WHEN] = None  # out of the heap: add_reusing may refill it
                callback = held[CALLBACK]
                if callback is None:
                    self._cancelled -= 1
                else:
                    held[CALLBACK] = None  # fired: a later cancel() is a no-op
                    callback(*held[ARGS])
                continue
            done = 1
            try:
                while done < len(held):  # a callback may add to this very bucket
                    entry = held[done]
                    done += 1
                    self._count -= 1
                    entry[WHEN] = None
                    callback = entry[CALLBACK]
                    if callback is None:
                        self._cancelled -= 1
                    else:
                        entry[CALLBACK] = None
                        callback(*entry[ARGS])
            finally:
                del held[1:done]
            if len(held) == 1:
                del due[heapq.heappop(heap)]

    def clear(self) -> None:
        """Drop every timer without calling it."""
        self._heap.clear()
        self._due.clear()
        self._count = self._cancelled = 0

    def live(self) -> list[Entry]:
        """The pending entries, earliest first (for debugging)."""
        return [e for when in sorted(self._due) for e in _entries(self._due[when]) if e[CALLBACK] is not None]


def _entries(held: Entry) -> list[Entry]:
    return held[1:] if held[0] is MANY else [held]


class Timer:
    """A callback scheduled on a hub (``Hub.call_later``); ``cancel()`` is O(1) and idempotent."""

    __slots__ = ("_entry", "_heap", "_when")

    def __init__(self, heap: TimerHeap, entry: Entry) -> None:
        self._heap = heap
        self._entry = entry
        self._when: float = entry[WHEN]  # the entry forgets it once it leaves the heap

    @property
    def when(self) -> float:
        """The hub-clock time at which it fires."""
        return self._when

    @property
    def pending(self) -> bool:
        """True while the timer may still fire."""
        entry = self._entry
        # An entry that fired may be refilled for a later timer (add_reusing): same list, new deadline.
        return entry[CALLBACK] is not None and entry[WHEN] == self._when

    def cancel(self) -> None:
        """Stop the timer from firing (no effect once it fired or was cancelled)."""
        if self.pending:
            self._heap.cancel(self._entry)

    def __repr__(self) -> str:
        callback = self._entry[CALLBACK]
        name = getattr(callback, "__qualname__", repr(callback))
        state = f"pending callback={name}" if callback is not None else "done"
        return f"<Timer {state} when={self._when:.6f}>"
