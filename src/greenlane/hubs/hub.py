"""eventlet's ``hubs.hub`` names: the listener constants and classes code written for eventlet imports.

greenlane has one hub class for every poller (``BaseHub`` is it); the
listener API (``hub.add``/``hub.remove``) and the introspection calls
(``get_readers()`` records with ``.greenlet``, ``.fileno``, ``.evtype``) are
the hub's own methods (``greenlane.hubs._eventlet``).
"""

from __future__ import annotations

from typing import Final

from .._core import multiple_fd_waiters
from ._eventlet import EVTYPE_READ, EVTYPE_WRITE, FdListener, FdWaiter, Hub

__all__ = ["READ", "WRITE", "BaseHub", "FdListener", "FdWaiter"]

READ: Final = EVTYPE_READ
WRITE: Final = EVTYPE_WRITE

# eventlet's base of every hub class: greenlane's one hub class.
BaseHub = Hub


def __getattr__(name: str) -> object:
    """``g_prevent_multiple_readers``, read live (set it with ``debug.hub_prevent_multiple_readers``)."""
    if name == "g_prevent_multiple_readers":
        return not multiple_fd_waiters()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
