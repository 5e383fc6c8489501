"""The workload registry.

To add a workload, write ``<name>.py`` with one function per framework and a
module-level ``WORKLOAD = Workload(...)`` (see ``_base`` and ``switch.py``), then
list the module below. A framework a workload has no function for is shown as
"-" in its row (e.g. no greenlet floor where one makes no sense).
"""

from __future__ import annotations

from typing import Final

from benchmarks.workloads import (
    echo,
    http,
    idle_memory,
    pool_map,
    queue,
    spawn_join,
    switch,
    timers,
    tpool,
    wsgi,
    yield_rr,
)
from benchmarks.workloads._base import Check, Metric, Sample, Sizes, Workload

# Report order.
WORKLOADS: Final[dict[str, Workload]] = {
    module.WORKLOAD.name: module.WORKLOAD
    for module in (
        switch,
        spawn_join,
        yield_rr,
        timers,
        pool_map,
        idle_memory,
        queue,
        tpool,
        echo,
        http,
        wsgi,
    )
}

__all__ = ["WORKLOADS", "Check", "Metric", "Sample", "Sizes", "Workload"]
