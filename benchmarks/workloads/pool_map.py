"""pool_map: a bounded parallel map of N trivial calls through a pool of 100; us per item.

Size: items. Each framework maps ``job`` (returns its argument) over
``range(N)`` with at most ``POOL_SIZE`` calls in flight, through the idiom its
users write: ``GreenPool(100).imap`` (greenlane, eventlet: the very same code),
``gevent.pool.Pool(100).imap``, and for asyncio a gather of tasks each holding
an ``asyncio.Semaphore(100)`` while it runs. Results are consumed in input
order; their count and sum prove each call ran once. There is no greenlet
floor: a pool is a library feature, not a switch pattern.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Final

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

POOL_SIZE: Final = 100  # the spec's GreenPool(100)


def _sample(n: int, results: list[int], sw: Stopwatch) -> Sample:
    return Sample(
        metrics={"us_per_item": sw.wall * 1e6 / n},
        wall_s=sw.wall,
        cpu_s=sw.cpu,
        check=Check(
            got={"results": len(results), "sum": sum(results), "in_order": int(results == sorted(results))},
            expected={"results": n, "sum": arithmetic_sum(n), "in_order": 1},
        ),
    )


def job(i: int) -> int:
    return i


def _eventlet_api(top: str) -> Callable[[int], Sample]:
    """greenlane and eventlet share the API, so they run the very same code."""

    def run(n: int) -> Sample:
        lib = load(top)
        green_pool = load(f"{top}.greenpool").GreenPool
        lib.sleep(0)  # start the hub outside the measurement
        with Stopwatch() as sw:
            results = list(green_pool(POOL_SIZE).imap(job, range(n)))
        return _sample(n, results, sw)

    return run


def gevent(n: int) -> Sample:
    lib = load("gevent")
    pool_cls = load("gevent.pool").Pool
    lib.sleep(0)
    with Stopwatch() as sw:
        results = list(pool_cls(POOL_SIZE).imap(job, range(n)))
    return _sample(n, results, sw)


async def _asyncio_main(n: int) -> Sample:
    async def bounded(sem: asyncio.Semaphore, i: int) -> int:
        async with sem:
            return job(i)

    with Stopwatch() as sw:
        sem = asyncio.Semaphore(POOL_SIZE)
        results = await asyncio.gather(*(bounded(sem, i) for i in range(n)))
    return _sample(n, list(results), sw)


WORKLOAD = Workload(
    name="pool_map",
    description=f"pool of {POOL_SIZE}, imap over N trivial calls",
    metrics=(Metric("us_per_item", "us per item"),),
    sizes=Sizes(full=100_000, quick=20_000, smoke=200),
    implementations={
        "greenlane": _eventlet_api("greenlane"),
        "eventlet": _eventlet_api("eventlet"),
        "gevent": gevent,
        "asyncio": on_asyncio(_asyncio_main),
        "uvloop": on_uvloop(_asyncio_main),
    },
)
