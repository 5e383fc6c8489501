"""greenlane's core: the hub, timers, I/O managers and parking; stdlib and greenlet only.

Everything above this package blocks through ``park`` / ``WaitQueue`` /
``Hub.wait_fd`` and never calls ``greenlet.switch`` itself. This module is
the core's whole surface: the layers above import from here, never from a
``_core._x`` module (``tests/test_layers.py`` checks).
"""

from __future__ import annotations

from ._aio import AsyncioIO, asyncio_wanted, set_loop_factory
from ._config import MAX_THREADPOOL_SIZE, Config, read_config
from ._errors import CrossThreadError, DeadlockError, IOClosed
from ._fdqueue import check_fd_free, multiple_fd_waiters, set_multiple_fd_waiters
from ._hooks import (
    Clock,
    check_hub_idle,
    frame_role,
    observe_new_hubs,
    observe_spawns,
    reset_thread_hub,
    set_preferred_poller,
    wrap_timer_callbacks,
)
from ._hub import Hub
from ._introspect import HubStatistics, TimerEntry
from ._io import IOManager, PollerIO, io_manager_names, register_io_manager
from ._owner import Owned
from ._parking import (
    ABORTED,
    PARKED,
    RUNNING,
    TIMED_OUT,
    TIMED_OUT_STATE,
    WOKEN,
    Parked,
    park,
    wake,
    withdraw_deferred,
    yield_current,
)
from ._pollers import ERROR, READ, WRITE
from ._stdlib import (
    SimpleQueue,
    allocate_lock,
    get_ident,
    monotonic,
    os_sleep,
    refuse_free_threading,
    start_new_thread,
    thread_local,
)
from ._tasks import Task, current
from ._threadhub import current_hub, existing_hub, get_hub, preferred_io, set_hub_class
from ._timeouts import check_timeout
from ._timers import Timer
from ._waitqueue import WaitQueue, wake_all, wake_one
from ._waitstate import WaitState, wait_state
from ._wakers import is_main_thread, quiet_threads

__all__ = [
    "ABORTED",
    "ERROR",
    "MAX_THREADPOOL_SIZE",
    "PARKED",
    "READ",
    "RUNNING",
    "TIMED_OUT",
    "TIMED_OUT_STATE",
    "WOKEN",
    "WRITE",
    "AsyncioIO",
    "Clock",
    "Config",
    "CrossThreadError",
    "DeadlockError",
    "Hub",
    "HubStatistics",
    "IOClosed",
    "IOManager",
    "Owned",
    "Parked",
    "PollerIO",
    "SimpleQueue",
    "Task",
    "Timer",
    "TimerEntry",
    "WaitQueue",
    "WaitState",
    "allocate_lock",
    "asyncio_wanted",
    "check_fd_free",
    "check_hub_idle",
    "check_timeout",
    "current",
    "current_hub",
    "existing_hub",
    "frame_role",
    "get_hub",
    "get_ident",
    "io_manager_names",
    "is_main_thread",
    "monotonic",
    "multiple_fd_waiters",
    "observe_new_hubs",
    "observe_spawns",
    "os_sleep",
    "park",
    "preferred_io",
    "quiet_threads",
    "read_config",
    "refuse_free_threading",
    "register_io_manager",
    "reset_thread_hub",
    "set_hub_class",
    "set_loop_factory",
    "set_multiple_fd_waiters",
    "set_preferred_poller",
    "start_new_thread",
    "thread_local",
    "wait_state",
    "wake",
    "wake_all",
    "wake_one",
    "withdraw_deferred",
    "wrap_timer_callbacks",
    "yield_current",
]
