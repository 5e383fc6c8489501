"""eventlet's ``hubs.asyncio`` as a name only: the asyncio hub itself is not available yet.

Libraries check for it: oslo.log's ``pipe_mutex`` imports this module at its
top and asks ``isinstance(get_hub(), eventlet.hubs.asyncio.Hub)``. Here that
answers False (no running hub is an instance of ``Hub``) instead of failing
the import, and anything that needs the asyncio hub to exist gets a clear
``RuntimeError``.
"""

from __future__ import annotations

from typing import Any, Final, NoReturn

__all__ = ["Hub", "is_available"]

UNAVAILABLE: Final = (
    "needs the asyncio hub, not available yet: greenlane runs on its own hub "
    "(epoll, poll or select); asyncio code cannot share it for now"
)


def is_available() -> bool:
    """eventlet's check, used by ``use_hub``: False, the asyncio hub does not exist yet."""
    return False


class Hub:
    """eventlet's asyncio hub class: no hub is ever an instance of it (it cannot be created)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _unavailable("hubs.asyncio.Hub()")


def _unavailable(what: str) -> NoReturn:
    raise RuntimeError(f"{what} {UNAVAILABLE}")
