"""eventlet's ``asyncio`` module as a name only: the asyncio hub it needs is not available yet.

oslo.log imports ``eventlet.asyncio`` at its top, so the import succeeds;
``spawn_for_awaitable`` raises ``RuntimeError`` saying why, as eventlet's does
when its asyncio hub is not the running one.
"""

from __future__ import annotations

from typing import Any, NoReturn

from .hubs.asyncio import UNAVAILABLE

__all__ = ["spawn_for_awaitable"]


def spawn_for_awaitable(coroutine: Any) -> NoReturn:
    """eventlet's bridge from an awaitable to a green thread: raises ``RuntimeError`` for now."""
    close = getattr(coroutine, "close", None)
    if callable(close) and hasattr(coroutine, "cr_frame"):
        close()  # a coroutine object never awaited would warn at collection
    raise RuntimeError(f"spawn_for_awaitable({coroutine!r}) {UNAVAILABLE}")
