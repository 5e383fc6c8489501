"""What a hub shows about itself: ``statistics()`` and eventlet's listing calls.

Read-only views over the hub's fields, kept apart from the loop so ``_hub``
stays about scheduling. ``Hub`` mixes ``Introspection`` in, as it does
``FdWaits`` and ``Wakeup``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from greenlet import greenlet

from . import _pollers, _stdlib
from ._compat import EVTYPE_READ, EVTYPE_WRITE
from ._parking import Parked, expire
from ._timers import ARGS, CALLBACK, WHEN, Timer, TimerHeap

__all__ = ["FdWaiter", "HubStatistics", "Introspection", "TimerEntry"]


@dataclass(frozen=True, slots=True)
class HubStatistics:
    """A snapshot of one hub's load.

    Times are wall-clock seconds (``time.monotonic``, never the virtual test
    clock). ``poll_time`` is time spent asleep in the poller waiting for I/O
    or a timer; everything else since the hub was created counts as
    ``run_time``. ``longest_pass`` is the longest pass of the loop so far, the
    one in progress included (callbacks plus the green threads it resumed,
    idle polling excluded): how long I/O went unlooked at. ``polling`` is
    True while the hub's thread is asleep in its poller (every green thread
    parked, nothing ready): the moment another OS thread's
    ``call_soon_threadsafe`` must wake it. Read from another OS thread, a
    snapshot is approximate (it may be outdated as soon as it is taken).
    """

    ready: int
    timers: int
    readers: int
    writers: int
    green_threads: int
    switches: int
    passes: int
    uptime: float = 0.0
    poll_time: float = 0.0
    longest_pass: float = 0.0
    polling: bool = False

    @property
    def run_time(self) -> float:
        """Seconds the hub's thread spent not asleep in the poller."""
        return max(0.0, self.uptime - self.poll_time)

    @property
    def switches_per_second(self) -> float:
        """Green threads resumed per second, averaged over the hub's life."""
        return self.switches / self.uptime if self.uptime > 0 else 0.0

    def switches_per_second_since(self, earlier: HubStatistics) -> float:
        """Green threads resumed per second between ``earlier`` (a snapshot of the same hub) and this one."""
        elapsed = self.uptime - earlier.uptime
        return (self.switches - earlier.switches) / elapsed if elapsed > 0 else 0.0


@dataclass(frozen=True, slots=True)
class TimerEntry:
    """A pending timer as a dump shows it: ``parked`` is the record whose wait it times out, if any."""

    when: float
    callback: Callable[..., Any]
    args: tuple[Any, ...]
    parked: Parked | None


@dataclass(frozen=True, slots=True)
class FdWaiter:
    """A snapshot of one green thread waiting on an fd, shaped as eventlet's ``FdListener``.

    ``evtype`` is eventlet's ``"read"`` or ``"write"``; ``greenlet`` is the
    waiting greenlet (a pooled worker for a spawned green thread: its
    ``task`` attribute is the ``GreenThread``); ``reason`` what it waits for.
    """

    evtype: str
    fileno: int
    greenlet: greenlet
    reason: str

    def __repr__(self) -> str:
        return f"<FdWaiter {self.evtype} fd={self.fileno} reason={self.reason!r}>"


class Introspection:
    """The introspection half of the hub (a mixin: ``Hub`` supplies the fields below)."""

    _ready: Any
    _calls: Any
    _timers: TimerHeap
    io: Any
    _tasks_alive: int
    _xthread: Any
    _start: Callable[..., None]
    _switches: int
    _passes: int
    polling: bool
    _pass_start: float
    _longest_pass: float
    _created: float
    _poll_time: float
    clock: Callable[[], float]

    def statistics(self) -> HubStatistics:
        """A snapshot of this hub's queues, counters and times (see ``HubStatistics``)."""
        now = _stdlib.monotonic()
        longest = self._longest_pass
        if self._passes and not self.polling and now - self._pass_start > longest:
            longest = now - self._pass_start  # the pass in progress (the caller runs inside it)
        return HubStatistics(
            ready=len(self._ready) + len(self._calls),
            timers=len(self._timers),
            readers=len(self.io.waiters(_pollers.READ)),
            writers=len(self.io.waiters(_pollers.WRITE)),
            green_threads=self._tasks_alive,
            switches=self._switches,
            passes=self._passes,
            uptime=now - self._created,
            poll_time=self._poll_time,
            longest_pass=longest,
            polling=self.polling,
        )

    def get_readers(self) -> list[FdWaiter]:
        """The green threads waiting to read an fd, as eventlet's listener records (its name).

        Each fd's waiters in the order they will be woken (see ``_fdqueue``).
        """
        waiters: list[Parked] = self.io.waiters(_pollers.READ)
        return [FdWaiter(EVTYPE_READ, r.fd, r.glet, r.reason) for r in waiters]

    def get_writers(self) -> list[FdWaiter]:
        """The green threads waiting to write an fd, as eventlet's listener records (its name)."""
        waiters: list[Parked] = self.io.waiters(_pollers.WRITE)
        return [FdWaiter(EVTYPE_WRITE, r.fd, r.glet, r.reason) for r in waiters]

    def get_timers_count(self) -> int:
        """eventlet's count of timers held: pending ones, plus cancelled ones not yet dropped.

        ``statistics().timers`` counts the pending ones only.
        """
        return self._timers._count

    def timers(self) -> list[Timer]:
        """The pending timers, earliest first."""
        return [Timer(self._timers, entry) for entry in self._timers.live()]

    def timer_entries(self) -> list[TimerEntry]:
        """The pending timers, earliest first, with what each will call (for dumps)."""
        out = []
        for entry in self._timers.live():
            callback, args = entry[CALLBACK], entry[ARGS]
            parked = args[0] if callback is expire and args and isinstance(args[0], Parked) else None
            out.append(TimerEntry(entry[WHEN], callback, args, parked))
        return out

    def queued_tasks(self) -> list[Any]:
        """Tasks spawned but not started yet, in start order."""
        start = self._start
        return [args[0] for cb, args in list(self._calls) if cb == start]

    def fd_waiters(self, bit: int) -> list[Parked]:
        """The records waiting on fds for ``bit`` (READ or WRITE), each fd's in wake-up order."""
        return self.io.waiters(bit)  # type: ignore[no-any-return]

    def progress(self) -> tuple[int, int] | None:
        """(switches, passes) so far, or None while asleep in the poller; readable from any thread."""
        return None if self.polling else (self._switches, self._passes)

    def busy(self) -> bool:
        """Whether anyone could be kept waiting by this hub (read from another thread: approximate)."""
        return bool(
            self._tasks_alive or self._ready or self._calls or len(self._timers)
            or self.io.readers or self.io.writers or self._xthread
        )

    @property
    def poller_name(self) -> str:
        """Which backend this hub polls with."""
        return self.io.name  # type: ignore[no-any-return]
