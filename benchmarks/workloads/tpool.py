"""tpool: round trip of running a trivial function in a native worker thread; us per call.

Size: calls, made one after another from one green thread (or coroutine), so
the figure is the latency of a round trip: hand the call to a worker, wake
it, run it, hand the result back, wake the caller. greenlane and eventlet use
``tpool.execute``; asyncio and uvloop use ``asyncio.to_thread``. No floor:
raw greenlet has no thread pool. The sum of the results proves every call ran.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from benchmarks.frameworks import load, on_asyncio, on_uvloop
from benchmarks.workloads._base import (
    Check,
    Metric,
    Sample,
    Sizes,
    Stopwatch,
    Workload,
    arithmetic_sum,
)


def _sample(n: int, total: int, sw: Stopwatch) -> Sample:
    return Sample(
        metrics={"us_per_call": sw.wall * 1e6 / n},
        wall_s=sw.wall,
        cpu_s=sw.cpu,
        check=Check(got={"sum": total}, expected={"sum": arithmetic_sum(n)}),
    )


def job(i: int) -> int:
    return i


def _eventlet_api(top: str) -> Callable[[int], Sample]:
    """greenlane and eventlet share the API, so they run the very same code."""

    def run(n: int) -> Sample:
        lib = load(top)
        execute = load(f"{top}.tpool").execute
        lib.sleep(0)
        execute(job, 0)  # start the pool outside the measurement
        with Stopwatch() as sw:
            total = 0
            for i in range(n):
                total += execute(job, i)
        return _sample(n, total, sw)

    return run


async def _asyncio_main(n: int) -> Sample:
    await asyncio.to_thread(job, 0)
    with Stopwatch() as sw:
        total = 0
        for i in range(n):
            total += await asyncio.to_thread(job, i)
    return _sample(n, total, sw)


WORKLOAD = Workload(
    name="tpool",
    description="N sequential round trips of a trivial function through a native thread pool",
    metrics=(Metric("us_per_call", "us per call"),),
    sizes=Sizes(full=20_000, quick=5_000, smoke=50),
    implementations={
        "greenlane": _eventlet_api("greenlane"),
        "eventlet": _eventlet_api("eventlet"),
        "asyncio": on_asyncio(_asyncio_main),
        "uvloop": on_uvloop(_asyncio_main),
    },
)
