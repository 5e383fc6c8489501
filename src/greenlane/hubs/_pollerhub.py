"""What eventlet's per-poller hub modules (``hubs.epolls``, ``hubs.poll``, ``hubs.selects``) share.

greenlane has one hub class whatever it polls with; each of those modules
holds a small subclass that fixes the poller, so ``use_hub(hubs.poll)``,
``use_hub(hubs.poll.Hub)`` and ``hubs.poll.Hub()`` all mean "poll with poll(2)".
"""

from __future__ import annotations

import select
from collections.abc import Callable
from typing import ClassVar

from ._eventlet import Hub

__all__ = ["make_hub_class", "poller_available"]

_SYSCALL = {"epoll": "epoll", "poll": "poll", "select": "select"}


def poller_available(name: str) -> bool:
    """Whether the ``select`` module offers poller ``name`` on this system."""
    return hasattr(select, _SYSCALL[name])


def make_hub_class(poller: str, module: str) -> type[Hub]:
    """A ``Hub`` subclass for ``module`` that always polls with ``poller``."""

    class PollerHub(Hub):
        poller_name_fixed: ClassVar[str] = poller

        def __init__(self, clock: Callable[[], float] | None = None) -> None:
            super().__init__(poller=poller)
            if clock is not None:  # eventlet's hubs take the clock their timers run on
                self.clock = clock

    PollerHub.__name__ = PollerHub.__qualname__ = "Hub"
    PollerHub.__module__ = module
    PollerHub.__doc__ = f"A greenlane hub that polls with {poller}."
    return PollerHub
