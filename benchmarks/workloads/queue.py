"""queue: ping-pong between two green threads over two Queues; ns per hand-off.

Size: round trips. Each round trip is two hand-offs: the pinger puts ``i`` on
one queue, the ponger gets it and puts it back on the other, where the pinger
gets it. Every framework uses its own unbounded FIFO queue through its public
API (``put``/``get``): ``greenlane.queue.Queue``, ``eventlet.queue.Queue``,
``gevent.queue.Queue``, ``asyncio.Queue`` (stock loop and uvloop). The floor is
two raw greenlets passing the value to each other directly. Both sides sum
what they received, so the sums prove every hand-off happened.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Final

from benchmarks.frameworks import load, on_asyncio, on_uvloop
from benchmarks.workloads._base import (
    Check,
    Metric,
    Sample,
    Sizes,
    Stopwatch,
    Workload,
    arithmetic_sum,
    greenlet_pingpong,
)

HANDOFFS_PER_ROUND: Final = 2  # ping, then pong


def _sample(rounds: int, sums: tuple[int, int], sw: Stopwatch) -> Sample:
    expected = arithmetic_sum(rounds)
    return Sample(
        metrics={"ns_per_handoff": sw.wall * 1e9 / (rounds * HANDOFFS_PER_ROUND)},
        wall_s=sw.wall,
        cpu_s=sw.cpu,
        check=Check(
            got={"ping_sum": sums[0], "pong_sum": sums[1]},
            expected={"ping_sum": expected, "pong_sum": expected},
        ),
    )


def _players(rounds: int, ping: Any, pong: Any) -> tuple[Callable[[], int], Callable[[], int]]:
    """The two sides, for any queue with blocking ``put``/``get``."""

    def pinger() -> int:
        total = 0
        for i in range(rounds):
            ping.put(i)
            total += pong.get()
        return total

    def ponger() -> int:
        total = 0
        for _ in range(rounds):
            value = ping.get()
            total += value
            pong.put(value)
        return total

    return pinger, ponger


def _eventlet_api(top: str) -> Callable[[int], Sample]:
    """greenlane and eventlet share the API, so they run the very same code."""

    def run(rounds: int) -> Sample:
        lib = load(top)
        queue_cls = load(f"{top}.queue").Queue
        pinger, ponger = _players(rounds, queue_cls(), queue_cls())
        lib.sleep(0)  # start the hub outside the measurement
        with Stopwatch() as sw:
            a, b = lib.spawn(pinger), lib.spawn(ponger)
            sums = (a.wait(), b.wait())
        return _sample(rounds, sums, sw)

    return run


def gevent(rounds: int) -> Sample:
    lib = load("gevent")
    queue_cls = load("gevent.queue").Queue
    pinger, ponger = _players(rounds, queue_cls(), queue_cls())
    lib.sleep(0)
    with Stopwatch() as sw:
        a, b = lib.spawn(pinger), lib.spawn(ponger)
        sums = (a.get(), b.get())
    return _sample(rounds, sums, sw)


async def _asyncio_main(rounds: int) -> Sample:
    ping: asyncio.Queue[int] = asyncio.Queue()
    pong: asyncio.Queue[int] = asyncio.Queue()

    async def pinger() -> int:
        total = 0
        for i in range(rounds):
            await ping.put(i)
            total += await pong.get()
        return total

    async def ponger() -> int:
        total = 0
        for _ in range(rounds):
            value = await ping.get()
            total += value
            await pong.put(value)
        return total

    with Stopwatch() as sw:
        a, b = asyncio.create_task(pinger()), asyncio.create_task(ponger())
        sums = (await a, await b)
    return _sample(rounds, sums, sw)


def greenlet_floor(rounds: int) -> Sample:
    sums, sw = greenlet_pingpong(rounds)
    return _sample(rounds, sums, sw)


WORKLOAD = Workload(
    name="queue",
    description="ping-pong between two green threads over two Queues",
    metrics=(Metric("ns_per_handoff", "ns per hand-off"),),
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
