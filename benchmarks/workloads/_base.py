"""What a workload module provides, and the measuring tools they share.

A workload is a ``Workload`` spec plus one function per framework. Each
function takes the size, does the work, and returns a ``Sample``: its metrics,
the wall and CPU time of the measured part, and a ``Check`` of counts and sums
that proves the work was done.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from time import perf_counter, process_time
from types import TracebackType
from typing import Final


@dataclass(frozen=True, slots=True)
class Metric:
    """One figure a workload reports; the first one of a workload is its headline."""

    key: str
    label: str  # e.g. "ns per switch"
    higher_is_better: bool = False


@dataclass(frozen=True, slots=True)
class Sizes:
    """The size argument per mode; what it counts is the workload's own docstring."""

    full: int
    quick: int
    smoke: int  # tiny: the smoke test runs every workload at this size

    def get(self, preset: str) -> int:
        sizes: dict[str, int] = {"full": self.full, "quick": self.quick, "smoke": self.smoke}
        return sizes[preset]


@dataclass(frozen=True, slots=True)
class Check:
    """Counts and sums observed after the run against what they must be."""

    got: Mapping[str, int]
    expected: Mapping[str, int]

    @property
    def ok(self) -> bool:
        return dict(self.got) == dict(self.expected)

    def to_json(self) -> dict[str, object]:
        return {"ok": self.ok, "got": dict(self.got), "expected": dict(self.expected)}


@dataclass(frozen=True, slots=True)
class Sample:
    """The outcome of one run of one workload on one framework."""

    metrics: Mapping[str, float]
    wall_s: float
    cpu_s: float
    check: Check


Impl = Callable[[int], Sample]


@dataclass(frozen=True, slots=True)
class Workload:
    """A registered workload: its figures, sizes, and one function per framework."""

    name: str
    description: str
    metrics: tuple[Metric, ...]
    sizes: Sizes
    implementations: Mapping[str, Impl] = field(repr=False)


class Stopwatch:
    """Wall (``perf_counter``) and process CPU time of a ``with`` block."""

    wall: float = 0.0
    cpu: float = 0.0

    def __enter__(self) -> Stopwatch:
        self._wall0 = perf_counter()
        self._cpu0 = process_time()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.wall = perf_counter() - self._wall0
        self.cpu = process_time() - self._cpu0


_STATM: Final = "/proc/self/statm"


def rss_bytes() -> int:
    """Resident set size now: /proc/self/statm, else psutil (no hard psutil dependency)."""
    try:
        with open(_STATM, encoding="ascii") as f:
            resident_pages = int(f.read().split()[1])
        return resident_pages * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        import psutil

        rss: int = psutil.Process().memory_info().rss
        return rss


def arithmetic_sum(n: int) -> int:
    """Sum of ``range(n)``, the expected value of most checks."""
    return n * (n - 1) // 2


def greenlet_pingpong(rounds: int) -> tuple[tuple[int, int], Stopwatch]:
    """The floor of every ping-pong workload: two raw greenlets switching to each other.

    Ping carries ``i`` and pong echoes it back; returns both sides' sums and the timing.
    """
    from greenlet import greenlet

    sums = [0, 0]

    def pinger() -> None:
        for i in range(rounds):
            sums[0] += b.switch(i)

    def ponger(value: int) -> None:
        while True:  # left parked after the last round; dropped with the greenlet
            sums[1] += value
            value = a.switch(value)

    a, b = greenlet(pinger), greenlet(ponger)
    with Stopwatch() as sw:
        a.switch()
    return (sums[0], sums[1]), sw
