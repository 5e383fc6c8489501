"""greenlane: cooperative green threads for blocking-style Python, eventlet-compatible.

``import greenlane`` patches nothing and starts nothing: the hub of a thread is
created the first time something in that thread blocks.
"""

from __future__ import annotations

from ._core import refuse_free_threading

refuse_free_threading()

from . import config, corolocal, event, greenpool, greenthread, hubs, lock, queue, semaphore, timeout  # noqa: E402
from ._core import CrossThreadError, DeadlockError  # noqa: E402
from .event import Event  # noqa: E402
from .greenpool import GreenPile, GreenPool  # noqa: E402
from .greenthread import (  # noqa: E402
    GreenletExit,
    GreenThread,
    getcurrent,
    kill,
    sleep,
    spawn,
    spawn_after,
    spawn_n,
)
from .hubs import get_hub, notify_close, trampoline, use_hub  # noqa: E402
from .queue import Queue  # noqa: E402
from .semaphore import BoundedSemaphore, CappedSemaphore, Semaphore  # noqa: E402
from .timeout import Timeout, is_timeout, with_timeout  # noqa: E402

__version__ = "0.1.0"

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
    "Timeout",
    "__version__",
    "config",
    "corolocal",
    "event",
    "get_hub",
    "getcurrent",
    "greenpool",
    "greenthread",
    "hubs",
    "is_timeout",
    "kill",
    "lock",
    "notify_close",
    "queue",
    "semaphore",
    "sleep",
    "spawn",
    "spawn_after",
    "spawn_n",
    "timeout",
    "trampoline",
    "use_hub",
    "with_timeout",
]
