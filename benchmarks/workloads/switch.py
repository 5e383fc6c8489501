"""switch: ping-pong between two green threads over an Event; ns per switch.

Size: round trips. Each round trip is two switches (ping, then pong). Every
framework uses its own Event and the one idiom its users write to reuse it:
send/wait/reset (greenlane, eventlet), set/wait/clear (gevent, asyncio). The
floor is two raw greenlets switching to each other directly. Ping carries ``i``
and pong echoes it back, so both sides' sums prove every hand-off happened.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Final

from benchmarks.frameworks import load, on_asyncio, on_greenlane_asyncio, on_uvloop
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

SWITCHES_PER_ROUND: Final = 2  # ping, then pong


def _sample(rounds: int, sums: tuple[int, int], sw: Stopwatch) -> Sample:
    expected = arithmetic_sum(rounds)
    return Sample(
        metrics={"ns_per_switch": sw.wall * 1e9 / (rounds * SWITCHES_PER_ROUND)},
        wall_s=sw.wall,
        cpu_s=sw.cpu,
        check=Check(
            got={"ping_sum": sums[0], "pong_sum": sums[1]},
            expected={"ping_sum": expected, "pong_sum": expected},
        ),
    )


def _eventlet_api(top: str) -> Callable[[int], Sample]:
    """greenlane and eventlet share the API, so they run the very same code."""

    def run(rounds: int) -> Sample:
        lib = load(top)
        event_cls = load(f"{top}.event").Event
        ping, pong = event_cls(), event_cls()

        def pinger() -> int:
            total = 0
            for i in range(rounds):
                ping.send(i)
                total += pong.wait()
                pong.reset()
            return total

        def ponger() -> int:
            total = 0
            for _ in range(rounds):
                value = ping.wait()
                ping.reset()
                total += value
                pong.send(value)
            return total

        lib.sleep(0)  # start the hub outside the measurement
        with Stopwatch() as sw:
            a, b = lib.spawn(pinger), lib.spawn(ponger)
            sums = (a.wait(), b.wait())
        return _sample(rounds, sums, sw)

    return run


def gevent(rounds: int) -> Sample:
    lib = load("gevent")
    event_cls = load("gevent.event").Event
    ping, pong = event_cls(), event_cls()
    box = [0, 0]  # gevent's Event carries no value: ping slot, pong slot

    def pinger() -> int:
        total = 0
        for i in range(rounds):
            box[0] = i
            ping.set()
            pong.wait()
            pong.clear()
            total += box[1]
        return total

    def ponger() -> int:
        total = 0
        for _ in range(rounds):
            ping.wait()
            ping.clear()
            total += box[0]
            box[1] = box[0]
            pong.set()
        return total

    lib.sleep(0)
    with Stopwatch() as sw:
        a, b = lib.spawn(pinger), lib.spawn(ponger)
        sums = (a.get(), b.get())
    return _sample(rounds, sums, sw)


async def _asyncio_main(rounds: int) -> Sample:
    ping, pong = asyncio.Event(), asyncio.Event()
    box = [0, 0]

    async def pinger() -> int:
        total = 0
        for i in range(rounds):
            box[0] = i
            ping.set()
            await pong.wait()
            pong.clear()
            total += box[1]
        return total

    async def ponger() -> int:
        total = 0
        for _ in range(rounds):
            await ping.wait()
            ping.clear()
            total += box[0]
            box[1] = box[0]
            pong.set()
        return total

    with Stopwatch() as sw:
        a, b = asyncio.create_task(pinger()), asyncio.create_task(ponger())
        sums = (await a, await b)
    return _sample(rounds, sums, sw)


def greenlet_floor(rounds: int) -> Sample:
    sums, sw = greenlet_pingpong(rounds)
    return _sample(rounds, sums, sw)


WORKLOAD = Workload(
    name="switch",
    description="ping-pong between two green threads over Event",
    metrics=(Metric("ns_per_switch", "ns per switch"),),
    sizes=Sizes(full=100_000, quick=20_000, smoke=200),
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
