"""eventlet's ``hubs.asyncio``: the hub that runs on an asyncio event loop.

``use_hub("asyncio")`` (or ``use_hub(hubs.asyncio)``, or ``GREENLANE_HUB=asyncio``)
makes this thread's next hub an asyncio hub; a hub created while an asyncio
loop already runs in the thread (the first greenlane call inside
``asyncio.run(main())``) is one too. ``isinstance(get_hub(), Hub)`` is True
exactly for those hubs: oslo.log's ``pipe_mutex`` asks that question. See
``greenlane.asyncio`` for crossing between green threads and coroutines.
"""

from __future__ import annotations

from .._core._aio import AsyncioHub as Hub

__all__ = ["Hub", "is_available"]


def is_available() -> bool:
    """eventlet's check, used by ``use_hub``: asyncio is in the standard library, so always True."""
    return True
