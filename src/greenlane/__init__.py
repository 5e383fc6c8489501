"""greenlane: cooperative green threads for blocking-style Python, eventlet-compatible.

``import greenlane`` patches nothing and starts nothing: the hub of a thread is
created the first time something in that thread blocks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._core import refuse_free_threading

refuse_free_threading()

from . import config, corolocal, debug, event, greenpool, greenthread, hubs, lock, queue, semaphore, timeout  # noqa: E402
from ._core import CrossThreadError, DeadlockError  # noqa: E402
from .event import Event  # noqa: E402
from .greenpool import GreenPile, GreenPool  # noqa: E402
from .greenthread import (  # noqa: E402  # noqa: E402
    GreenletExit,
    GreenThread,
    call_after_global,
    exc_after,
    getcurrent,
    kill,
    sleep,
    spawn,
    spawn_after,
    spawn_n,
)
from .hubs import get_hub, notify_close, trampoline, use_hub  # noqa: E402
from .patcher import import_patched, is_monkey_patched, monkey_patch  # noqa: E402
from .queue import Queue  # noqa: E402
from .semaphore import BoundedSemaphore, CappedSemaphore, Semaphore  # noqa: E402
from .timeout import Timeout, is_timeout, with_timeout, wrap_is_timeout  # noqa: E402

__version__ = "0.1.0"

# Networking names load on first use: ``import greenlane`` need not import ssl.
if TYPE_CHECKING:
    from . import convenience, green, greenio, pools, support, tpool
    from .convenience import StopServe, connect, listen, serve, wrap_ssl

_LAZY: dict[str, str] = {
    "listen": "convenience",
    "connect": "convenience",
    "serve": "convenience",
    "StopServe": "convenience",
    "wrap_ssl": "convenience",
    "convenience": "",
    "greenio": "",
    "green": "",
    "pools": "",
    "support": "",
    "tpool": "",
}


def __getattr__(name: str) -> object:
    """Load the networking names (``listen``, ``serve``, ...) on first use."""
    if name == "TimeoutError":  # eventlet's deprecated name
        greenthread._deprecated("TimeoutError", "Timeout")
        return Timeout
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'greenlane' has no attribute {name!r}") from None
    import importlib

    value: object = importlib.import_module(f"{__name__}.{module or name}")
    if module:
        value = getattr(value, name)
    globals()[name] = value
    return value


__all__ = [
    "BoundedSemaphore",
    "CappedSemaphore",
    "CrossThreadError",
    "DeadlockError",
    "Event",
    "GreenPile",
    "GreenPool",
    "GreenThread",
    "GreenletExit",
    "Queue",
    "Semaphore",
    "StopServe",
    "Timeout",
    "__version__",
    "call_after_global",
    "config",
    "connect",
    "convenience",
    "corolocal",
    "debug",
    "event",
    "exc_after",
    "get_hub",
    "getcurrent",
    "green",
    "greenio",
    "greenpool",
    "greenthread",
    "hubs",
    "import_patched",
    "is_monkey_patched",
    "is_timeout",
    "kill",
    "listen",
    "lock",
    "monkey_patch",
    "notify_close",
    "pools",
    "queue",
    "semaphore",
    "serve",
    "sleep",
    "spawn",
    "spawn_after",
    "spawn_n",
    "support",
    "timeout",
    "tpool",
    "trampoline",
    "use_hub",
    "with_timeout",
    "wrap_is_timeout",
    "wrap_ssl",
]
