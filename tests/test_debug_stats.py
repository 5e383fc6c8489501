"""``hub.statistics()`` for operators: time polling vs running, longest pass, switches per second."""

from __future__ import annotations

import time

import greenlane
from greenlane._core import HubStatistics, get_hub
from greenlane.testing import VirtualClock
from helpers import native_hub_only

BLOCK = 0.2


@native_hub_only("poll_time counts the native poller's sleep; asyncio's loop sleeps outside greenlane")
def test_idle_time_counts_as_polling_and_a_block_as_the_longest_pass() -> None:
    hub = get_hub()
    before = hub.statistics()
    greenlane.sleep(BLOCK)  # the hub sleeps in its poller
    idle = hub.statistics()
    assert idle.poll_time - before.poll_time >= BLOCK / 2
    assert idle.longest_pass < BLOCK / 2  # idle polling is not part of a pass

    greenlane.spawn(time.sleep, BLOCK).wait()  # unpatched: one pass lasts the whole block
    after = hub.statistics()
    assert after.longest_pass >= BLOCK * 0.9
    assert after.poll_time - idle.poll_time < BLOCK / 2  # the block was running, not polling
    assert after.run_time >= BLOCK * 0.9
    assert after.uptime >= after.poll_time + after.longest_pass * 0.9
    assert abs(after.run_time + after.poll_time - after.uptime) < 1e-9


def test_switches_per_second() -> None:
    hub = get_hub()
    first = hub.statistics()

    def yielder() -> None:
        for _ in range(100):
            greenlane.sleep(0)

    threads = [greenlane.spawn(yielder) for _ in range(10)]
    for gt in threads:
        gt.wait()
    second = hub.statistics()
    assert second.switches - first.switches >= 1000
    assert second.passes > first.passes
    assert second.switches_per_second > 0
    assert second.switches_per_second_since(first) > 0
    assert second.switches_per_second_since(second) == 0.0  # no time between: no rate


def test_rates_are_arithmetic_on_the_snapshot() -> None:
    base = dict(ready=0, timers=0, readers=0, writers=0, green_threads=0, passes=0, longest_pass=0.0)
    earlier = HubStatistics(switches=100, uptime=10.0, poll_time=4.0, **base)
    later = HubStatistics(switches=400, uptime=12.0, poll_time=5.5, **base)
    assert later.run_time == 6.5
    assert later.switches_per_second == 400 / 12.0
    assert later.switches_per_second_since(earlier) == 150.0
    assert HubStatistics(switches=5, **base).switches_per_second == 0.0  # a hub with no age yet


def test_times_are_wall_clock_under_a_virtual_clock(virtual_clock: VirtualClock) -> None:
    hub = get_hub()
    greenlane.sleep(3600)  # virtual: an hour passes at once
    stats = hub.statistics()
    assert virtual_clock.now() >= 3600
    assert stats.uptime < 60 and stats.poll_time < 60  # no real hour went by


def test_repr_and_statistics_agree() -> None:
    hub = get_hub()
    stats = hub.statistics()
    assert f"green_threads={stats.green_threads}>" in repr(hub)
