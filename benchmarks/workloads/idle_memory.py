"""idle_memory: N green threads blocked on one Event; resident KB per thread.

Size: threads. RSS is read (``/proc/self/statm``, else psutil) after a
``gc.collect()`` once the hub exists and one thread has come and gone, and
again once all N have reached ``wait()``; the handles the caller keeps count,
as users keep them too. Then the Event fires and every thread must finish.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from typing import Final, TypeVar

from benchmarks.frameworks import load, on_asyncio, on_uvloop
from benchmarks.workloads._base import Check, Metric, Sample, Sizes, Stopwatch, Workload, rss_bytes

H = TypeVar("H")  # a framework's thread handle

# Passes of sleep(0) allowed for N fresh threads to reach wait(); one should do.
MAX_SETTLE_PASSES: Final = 100


def _sample(
    n: int, rss: tuple[int, int], started: int, results: list[int], sw: Stopwatch
) -> Sample:
    return Sample(
        metrics={"kb_per_thread": (rss[1] - rss[0]) / 1024 / n},
        wall_s=sw.wall,
        cpu_s=sw.cpu,
        check=Check(
            got={"blocked": started, "finished": sum(results)},
            expected={"blocked": n, "finished": n},
        ),
    )


def _run_green(
    n: int,
    spawn: Callable[[Callable[[], int]], H],
    join: Callable[[H], int],
    sleep: Callable[[float], object],
    gate: tuple[Callable[[], object], Callable[[], object]],
) -> Sample:
    """The green-thread shape; ``gate`` is the Event's (wait, fire)."""
    wait, fire = gate
    started = 0

    def idler() -> int:
        nonlocal started
        started += 1
        wait()
        return 1

    join(spawn(lambda: 0))  # the hub and the first thread exist before the baseline
    with Stopwatch() as sw:
        gc.collect()
        before = rss_bytes()
        threads = [spawn(idler) for _ in range(n)]
        for _ in range(MAX_SETTLE_PASSES):
            if started == n:
                break
            sleep(0)
        gc.collect()
        after = rss_bytes()
        blocked = started
        fire()
        results = [join(t) for t in threads]
    return _sample(n, (before, after), blocked, results, sw)


def _eventlet_api(top: str) -> Callable[[int], Sample]:
    """greenlane and eventlet share the API, so they run the very same code."""

    def run(n: int) -> Sample:
        lib = load(top)
        gate = load(f"{top}.event").Event()
        return _run_green(
            n, lib.spawn, lambda t: t.wait(), lib.sleep, (gate.wait, lambda: gate.send(True))
        )

    return run


def gevent(n: int) -> Sample:
    lib = load("gevent")
    gate = load("gevent.event").Event()
    return _run_green(n, lib.spawn, lambda t: t.get(), lib.sleep, (gate.wait, gate.set))


def greenlet_floor(n: int) -> Sample:
    from benchmarks.minihub import MiniEvent, MiniHub

    hub = MiniHub()
    gate: MiniEvent[bool] = MiniEvent(hub)
    return _run_green(
        n, hub.spawn, lambda t: t.wait(), hub.sleep, (gate.wait, lambda: gate.send(True))
    )


async def _asyncio_main(n: int) -> Sample:
    gate = asyncio.Event()
    started = 0

    async def idler() -> int:
        nonlocal started
        started += 1
        await gate.wait()
        return 1

    await asyncio.create_task(asyncio.sleep(0))
    with Stopwatch() as sw:
        gc.collect()
        before = rss_bytes()
        tasks = [asyncio.create_task(idler()) for _ in range(n)]
        for _ in range(MAX_SETTLE_PASSES):
            if started == n:
                break
            await asyncio.sleep(0)
        gc.collect()
        after = rss_bytes()
        blocked = started
        gate.set()
        results = [await t for t in tasks]
    return _sample(n, (before, after), blocked, results, sw)


WORKLOAD = Workload(
    name="idle_memory",
    description="N threads blocked on one Event",
    metrics=(Metric("kb_per_thread", "RSS KB per thread"),),
    sizes=Sizes(full=10_000, quick=10_000, smoke=100),
    implementations={
        "greenlane": _eventlet_api("greenlane"),
        "greenlet": greenlet_floor,
        "eventlet": _eventlet_api("eventlet"),
        "gevent": gevent,
        "asyncio": on_asyncio(_asyncio_main),
        "uvloop": on_uvloop(_asyncio_main),
    },
)
