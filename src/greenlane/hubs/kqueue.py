"""eventlet's ``hubs.kqueue``, as a name: greenlane has no kqueue poller.

On BSD and macOS it polls with poll or select.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Hub", "is_available"]


def is_available() -> bool:
    """Always False: greenlane does not poll with kqueue."""
    return False


class Hub:
    """eventlet's kqueue hub class: cannot be created (no running hub is an instance)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("greenlane has no kqueue hub; use_hub('poll') or use_hub('selects')")
