"""spawn_join: spawn N green threads that each return ``i``, then wait for all; us per task.

Size: tasks. All are spawned first, then waited for in spawn order, through each
framework's spawn + wait (``spawn``/``wait``, gevent ``spawn``/``get``, asyncio
``create_task``/``await``). The floor is the minimal greenlet loop, one fresh
greenlet per task. The sum of the results proves each task ran once.
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


def _sample(n: int, results: list[int], sw: Stopwatch) -> Sample:
    return Sample(
        metrics={"us_per_task": sw.wall * 1e6 / n},
        wall_s=sw.wall,
        cpu_s=sw.cpu,
        check=Check(
            got={"results": len(results), "sum": sum(results)},
            expected={"results": n, "sum": arithmetic_sum(n)},
        ),
    )


def job(i: int) -> int:
    return i


def _eventlet_api(top: str) -> Callable[[int], Sample]:
    """greenlane and eventlet share the API, so they run the very same code."""

    def run(n: int) -> Sample:
        lib = load(top)
        lib.sleep(0)  # start the hub outside the measurement
        with Stopwatch() as sw:
            threads = [lib.spawn(job, i) for i in range(n)]
            results = [t.wait() for t in threads]
        return _sample(n, results, sw)

    return run


def gevent(n: int) -> Sample:
    lib = load("gevent")
    lib.sleep(0)
    with Stopwatch() as sw:
        threads = [lib.spawn(job, i) for i in range(n)]
        results = [t.get() for t in threads]
    return _sample(n, results, sw)


async def ajob(i: int) -> int:
    return i


async def _asyncio_main(n: int) -> Sample:
    with Stopwatch() as sw:
        tasks = [asyncio.create_task(ajob(i)) for i in range(n)]
        results = [await t for t in tasks]
    return _sample(n, results, sw)


def greenlet_floor(n: int) -> Sample:
    from benchmarks.minihub import MiniHub

    hub = MiniHub()
    hub.sleep(0)
    with Stopwatch() as sw:
        threads = [hub.spawn(job, i) for i in range(n)]
        results = [t.wait() for t in threads]
    return _sample(n, results, sw)


WORKLOAD = Workload(
    name="spawn_join",
    description="spawn N that each return i, wait all",
    metrics=(Metric("us_per_task", "us per task"),),
    sizes=Sizes(full=100_000, quick=20_000, smoke=200),
    implementations={
        "greenlane": _eventlet_api("greenlane"),
        "greenlet": greenlet_floor,
        "eventlet": _eventlet_api("eventlet"),
        "gevent": gevent,
        "asyncio": on_asyncio(_asyncio_main),
        "uvloop": on_uvloop(_asyncio_main),
    },
)
