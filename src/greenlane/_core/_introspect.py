"""What a hub shows about itself: ``statistics()`` and the views dumps and detectors read.

Read-only functions over the hub's fields, kept apart from the loop so
``_hub`` stays about scheduling; ``Hub`` binds each as a method (``stats =
_introspect.statistics`` in its body: a plain function, no mixin). Several
are read from another OS thread (the blocking detector, a dump of another
thread's hub): they copy before they iterate and are approximate there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import _pollers, _stdlib
from ._parking import Parked, expire
from ._timers import ARGS, CALLBACK, WHEN, Timer

if TYPE_CHECKING:
    from ._hub import Hub

__all__ = ["HubStatistics", "TimerEntry"]


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


def statistics(hub: Hub) -> HubStatistics:
    """A snapshot of this hub's queues, counters and times (see ``HubStatistics``)."""
    now = _stdlib.monotonic()
    longest = hub._longest_pass
    if hub._passes and not hub.polling and now - hub._pass_start > longest:
        longest = now - hub._pass_start  # the pass in progress (the caller runs inside it)
    return HubStatistics(
        ready=len(hub._ready) + len(hub._calls),
        timers=len(hub._timers),
        readers=len(hub.io.waiters(_pollers.READ)),
        writers=len(hub.io.waiters(_pollers.WRITE)),
        green_threads=hub._workers.alive,
        switches=hub._switches,
        passes=hub._passes,
        uptime=now - hub._created,
        poll_time=hub._poll_time,
        longest_pass=longest,
        polling=hub.polling,
    )


def timers(hub: Hub) -> list[Timer]:
    """The pending timers, earliest first."""
    return [Timer(hub._timers, entry) for entry in hub._timers.live()]


def timer_counts(hub: Hub) -> tuple[int, int]:
    """(timers held, cancelled ones among them not yet dropped): eventlet's two counts."""
    return hub._timers._count, hub._timers._cancelled


def timer_entries(hub: Hub) -> list[TimerEntry]:
    """The pending timers, earliest first, with what each will call (for dumps)."""
    out = []
    for entry in hub._timers.live():
        callback, args = entry[CALLBACK], entry[ARGS]
        parked = args[0] if callback is expire and args and isinstance(args[0], Parked) else None
        out.append(TimerEntry(entry[WHEN], callback, args, parked))
    return out


def queued_tasks(hub: Hub) -> list[Any]:
    """Tasks spawned but not started yet, in start order."""
    start = hub._start
    return [args[0] for cb, args in list(hub._calls) if cb == start]


def fd_waiters(hub: Hub, bit: int) -> list[Parked]:
    """The records waiting on fds for ``bit`` (READ or WRITE), each fd's in wake-up order."""
    return hub.io.waiters(bit)


def progress(hub: Hub) -> tuple[int, int] | None:
    """(switches, passes) so far, or None while asleep in the poller; readable from any thread."""
    return None if hub.polling else (hub._switches, hub._passes)


def busy(hub: Hub) -> bool:
    """Whether anyone could be kept waiting by this hub (read from another thread: approximate)."""
    return bool(
        hub._workers.alive or hub._ready or hub._calls or len(hub._timers)
        or hub.io.readers or hub.io.writers or hub._xthread
    )

