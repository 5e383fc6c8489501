"""greenlane's core: the hub, timers, pollers and parking; stdlib and greenlet only.

Everything above this package blocks through ``Hub.park`` / ``WaitQueue`` and
never calls ``greenlet.switch`` itself.
"""

from __future__ import annotations

from ._compat import EVTYPE_READ, EVTYPE_WRITE
from ._config import Config, read_config
from ._fdqueue import set_multiple_fd_waiters
from ._hub import (
    CrossThreadError,
    DeadlockError,
    Hub,
    HubStatistics,
    IOClosed,
    Task,
    current,
    current_hub,
    get_hub,
    reset_thread_hub,
    set_preferred_poller,
)
from ._introspect import FdWaiter
from ._listeners import FdListener
from ._owner import Owned
from ._parking import TIMED_OUT, Parked, park
from ._pollers import ERROR, READ, WRITE
from ._stdlib import refuse_free_threading
from ._timeouts import check_timeout
from ._timers import Timer
from ._waitqueue import WaitQueue
from ._waitstate import WaitState, wait_state

__all__ = [
    "ERROR",
    "EVTYPE_READ",
    "EVTYPE_WRITE",
    "READ",
    "TIMED_OUT",
    "WRITE",
    "Config",
    "CrossThreadError",
    "DeadlockError",
    "FdListener",
    "FdWaiter",
    "Hub",
    "HubStatistics",
    "IOClosed",
    "Owned",
    "Parked",
    "Task",
    "Timer",
    "WaitQueue",
    "WaitState",
    "check_timeout",
    "current",
    "current_hub",
    "get_hub",
    "park",
    "read_config",
    "refuse_free_threading",
    "reset_thread_hub",
    "set_multiple_fd_waiters",
    "set_preferred_poller",
    "wait_state",
]
