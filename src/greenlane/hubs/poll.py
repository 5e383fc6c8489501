"""eventlet's ``hubs.poll``: the hub that polls with poll(2).

For ``use_hub(hubs.poll)``, ``use_hub(hubs.poll.Hub)`` and ``hubs.poll.Hub()``.
"""

from __future__ import annotations

from ._pollerhub import make_hub_class, poller_available

__all__ = ["Hub", "is_available"]


def is_available() -> bool:
    """Whether this system has poll(2)."""
    return poller_available("poll")


Hub = make_hub_class("poll", __name__)
