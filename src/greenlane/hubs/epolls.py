"""eventlet's ``hubs.epolls``: the hub that polls with epoll(7).

For ``use_hub(hubs.epolls)``, ``use_hub(hubs.epolls.Hub)`` and ``hubs.epolls.Hub()``.
"""

from __future__ import annotations

from ._pollerhub import make_hub_class, poller_available

__all__ = ["Hub", "is_available"]


def is_available() -> bool:
    """Whether this system has epoll(7)."""
    return poller_available("epoll")


Hub = make_hub_class("epoll", __name__)
