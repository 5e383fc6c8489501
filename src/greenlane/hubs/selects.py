"""eventlet's ``hubs.selects``: the hub that polls with select(2).

For ``use_hub(hubs.selects)``, ``use_hub(hubs.selects.Hub)`` and ``hubs.selects.Hub()``.
"""

from __future__ import annotations

from ._pollerhub import make_hub_class, poller_available

__all__ = ["Hub", "is_available"]


def is_available() -> bool:
    """Whether this system has select(2)."""
    return poller_available("select")


Hub = make_hub_class("select", __name__)
