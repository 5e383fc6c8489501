"""timers: many sleepers at once; wall time over the ideal, and CPU seconds.

Size: threads, in two phases run back to back in one process:

- once: each thread sleeps once for U(0, 100 ms) (the same seeded draws for
  every framework); the ideal wall time is the longest draw.
- repeat: each thread sleeps 1 ms, 20 times; the ideal is 20 ms, so with
  thousands of threads this measures timer throughput, not accuracy.

Each thread checks with ``time.monotonic`` that it did not wake early; the
check counts the threads that slept their full time.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from typing import Final

from benchmarks.frameworks import load, on_asyncio, on_uvloop
from benchmarks.workloads._base import Check, Metric, Sample, Sizes, Stopwatch, Workload

# Fixed, so every framework and every sample sleeps the very same durations.
SEED: Final = 20261129
# The spec: sleep U(0, 100 ms) once; then 20 x sleep(1 ms).
MAX_ONCE_S: Final = 0.100
REPEAT_SLEEP_S: Final = 0.001
REPEATS: Final = 20
# uvloop (libuv) keeps loop time in whole milliseconds, so a timer may fire up to
# 1 ms before time.monotonic says it is due; allow that much for every framework.
EARLY_TOLERANCE_S: Final = 0.002


def _delays(n: int) -> list[float]:
    rng = random.Random(SEED)
    return [rng.uniform(0.0, MAX_ONCE_S) for _ in range(n)]


def _sample(
    n: int,
    ideal_once: float,
    phases: tuple[Stopwatch, Stopwatch],
    on_time: tuple[list[bool], list[bool]],
) -> Sample:
    once, repeat = phases
    return Sample(
        metrics={
            "once_wall_over_ideal": once.wall / ideal_once,
            "once_cpu_s": once.cpu,
            "repeat_wall_over_ideal": repeat.wall / (REPEAT_SLEEP_S * REPEATS),
            "repeat_cpu_s": repeat.cpu,
        },
        wall_s=once.wall + repeat.wall,
        cpu_s=once.cpu + repeat.cpu,
        check=Check(
            got={"once_on_time": sum(on_time[0]), "repeat_on_time": sum(on_time[1])},
            expected={"once_on_time": n, "repeat_on_time": n},
        ),
    )


def _sleepers(
    sleep: Callable[[float], object],
) -> tuple[Callable[[float], bool], Callable[[], bool]]:
    def once(delay: float) -> bool:
        start = time.monotonic()
        sleep(delay)
        return time.monotonic() - start >= delay - EARLY_TOLERANCE_S

    def repeat() -> bool:
        start = time.monotonic()
        for _ in range(REPEATS):
            sleep(REPEAT_SLEEP_S)
        return time.monotonic() - start >= REPEATS * REPEAT_SLEEP_S - EARLY_TOLERANCE_S

    return once, repeat


def _run_phases(
    n: int, start: Callable[..., Callable[[], bool]], sleep: Callable[[float], object]
) -> Sample:
    """Both phases, given ``start(fn, *args)`` that returns a callable waiting for the result."""
    once, repeat = _sleepers(sleep)
    delays = _delays(n)
    sleep(0)  # start the hub outside the measurement
    with Stopwatch() as sw_once:
        joins = [start(once, d) for d in delays]
        on_time_once = [join() for join in joins]
    with Stopwatch() as sw_repeat:
        joins = [start(repeat) for _ in range(n)]
        on_time_repeat = [join() for join in joins]
    return _sample(n, max(delays), (sw_once, sw_repeat), (on_time_once, on_time_repeat))


def _eventlet_api(top: str) -> Callable[[int], Sample]:
    """greenlane and eventlet share the API, so they run the very same code."""

    def run(n: int) -> Sample:
        lib = load(top)
        return _run_phases(n, lambda fn, *args: lib.spawn(fn, *args).wait, lib.sleep)

    return run


def gevent(n: int) -> Sample:
    lib = load("gevent")
    return _run_phases(n, lambda fn, *args: lib.spawn(fn, *args).get, lib.sleep)


def greenlet_floor(n: int) -> Sample:
    from benchmarks.minihub import MiniHub

    hub = MiniHub()
    return _run_phases(n, lambda fn, *args: hub.spawn(fn, *args).wait, hub.sleep)


async def _asyncio_main(n: int) -> Sample:
    async def once(delay: float) -> bool:
        start = time.monotonic()
        await asyncio.sleep(delay)
        return time.monotonic() - start >= delay - EARLY_TOLERANCE_S

    async def repeat() -> bool:
        start = time.monotonic()
        for _ in range(REPEATS):
            await asyncio.sleep(REPEAT_SLEEP_S)
        return time.monotonic() - start >= REPEATS * REPEAT_SLEEP_S - EARLY_TOLERANCE_S

    delays = _delays(n)
    with Stopwatch() as sw_once:
        tasks = [asyncio.create_task(once(d)) for d in delays]
        on_time_once = [await t for t in tasks]
    with Stopwatch() as sw_repeat:
        tasks = [asyncio.create_task(repeat()) for _ in range(n)]
        on_time_repeat = [await t for t in tasks]
    return _sample(n, max(delays), (sw_once, sw_repeat), (on_time_once, on_time_repeat))


WORKLOAD = Workload(
    name="timers",
    description=f"N threads sleep U(0, {MAX_ONCE_S * 1000:.0f} ms) once; "
    f"N threads x {REPEATS} x sleep({REPEAT_SLEEP_S * 1000:.0f} ms)",
    metrics=(
        Metric("once_wall_over_ideal", "once: wall / ideal"),
        Metric("once_cpu_s", "once: CPU s"),
        Metric("repeat_wall_over_ideal", "repeat: wall / ideal"),
        Metric("repeat_cpu_s", "repeat: CPU s"),
    ),
    sizes=Sizes(full=10_000, quick=2_000, smoke=20),
    implementations={
        "greenlane": _eventlet_api("greenlane"),
        "greenlet": greenlet_floor,
        "eventlet": _eventlet_api("eventlet"),
        "gevent": gevent,
        "asyncio": on_asyncio(_asyncio_main),
        "uvloop": on_uvloop(_asyncio_main),
    },
)
