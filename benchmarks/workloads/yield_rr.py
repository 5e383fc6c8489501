"""yield_rr: N green threads each yield 100 times with ``sleep(0)``; us per yield.

Size: threads. Every thread is spawned, then waited for; the time includes the
spawns, which are 1% of the switches at 100 yields each. Each thread returns
how many yields it completed, so the sum proves every yield came back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Final

from benchmarks.frameworks import load, on_asyncio, on_greenlane_asyncio, on_uvloop
from benchmarks.workloads._base import Check, Metric, Sample, Sizes, Stopwatch, Workload

YIELDS_PER_THREAD: Final = 100  # the spec's 1000 threads x 100 sleep(0)


def _sample(n: int, results: list[int], sw: Stopwatch) -> Sample:
    yields = n * YIELDS_PER_THREAD
    return Sample(
        metrics={"us_per_yield": sw.wall * 1e6 / yields},
        wall_s=sw.wall,
        cpu_s=sw.cpu,
        check=Check(
            got={"threads": len(results), "yields": sum(results)},
            expected={"threads": n, "yields": yields},
        ),
    )


def _green(sleep: Callable[[float], object]) -> Callable[[], int]:
    def yielder() -> int:
        done = 0
        for _ in range(YIELDS_PER_THREAD):
            sleep(0)
            done += 1
        return done

    return yielder


def _eventlet_api(top: str) -> Callable[[int], Sample]:
    """greenlane and eventlet share the API, so they run the very same code."""

    def run(n: int) -> Sample:
        lib = load(top)
        yielder = _green(lib.sleep)
        lib.sleep(0)  # start the hub outside the measurement
        with Stopwatch() as sw:
            threads = [lib.spawn(yielder) for _ in range(n)]
            results = [t.wait() for t in threads]
        return _sample(n, results, sw)

    return run


def gevent(n: int) -> Sample:
    lib = load("gevent")
    yielder = _green(lib.sleep)
    lib.sleep(0)
    with Stopwatch() as sw:
        threads = [lib.spawn(yielder) for _ in range(n)]
        results = [t.get() for t in threads]
    return _sample(n, results, sw)


async def ayielder() -> int:
    done = 0
    for _ in range(YIELDS_PER_THREAD):
        await asyncio.sleep(0)
        done += 1
    return done


async def _asyncio_main(n: int) -> Sample:
    with Stopwatch() as sw:
        tasks = [asyncio.create_task(ayielder()) for _ in range(n)]
        results = [await t for t in tasks]
    return _sample(n, results, sw)


def greenlet_floor(n: int) -> Sample:
    from benchmarks.minihub import MiniHub

    hub = MiniHub()
    yielder = _green(hub.sleep)
    hub.sleep(0)
    with Stopwatch() as sw:
        threads = [hub.spawn(yielder) for _ in range(n)]
        results = [t.wait() for t in threads]
    return _sample(n, results, sw)


WORKLOAD = Workload(
    name="yield_rr",
    description=f"N threads x {YIELDS_PER_THREAD} sleep(0)",
    metrics=(Metric("us_per_yield", "us per yield"),),
    sizes=Sizes(full=1_000, quick=500, smoke=10),
    implementations={
        "greenlane": _eventlet_api("greenlane"),
        "greenlane-asyncio": on_greenlane_asyncio(_eventlet_api("greenlane")),
        "greenlet": greenlet_floor,
        "eventlet": _eventlet_api("eventlet"),
        "gevent": gevent,
        "asyncio": on_asyncio(_asyncio_main),
        "uvloop": on_uvloop(_asyncio_main),
    },
)
