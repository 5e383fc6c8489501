"""The stdlib names greenlane's internals use, captured before anyone can patch them.

``greenlane.patcher`` (later) replaces ``time.sleep``, ``threading`` and friends
with green versions. The hub must keep using the real ones: a hub that waited
on a green lock would wait on itself. Every internal module therefore imports
these names from here, never from ``threading``/``time`` at call time.
"""

from __future__ import annotations

import _thread
import select
import sys
import sysconfig
from _queue import SimpleQueue
from _thread import _local as thread_local
from _thread import allocate_lock, get_ident, start_new_thread
from collections.abc import Callable
from os import read as os_read
from os import write as os_write
from time import monotonic, perf_counter
from time import sleep as os_sleep
from typing import Final

__all__ = [
    "HAS_EPOLL",
    "HAS_POLL",
    "SimpleQueue",
    "allocate_lock",
    "get_ident",
    "monotonic",
    "os_read",
    "os_sleep",
    "os_write",
    "perf_counter",
    "start_new_thread",
    "thread_local",
]

# Threads started through _thread and still running (CPython; the main thread excluded).
thread_count: Callable[[], int] | None = getattr(_thread, "_count", None)

HAS_EPOLL: Final = hasattr(select, "epoll")
HAS_POLL: Final = hasattr(select, "poll")


def refuse_free_threading() -> None:
    """Refuse to run on a free-threaded CPython build: greenlet does not support it."""
    if sysconfig.get_config_var("Py_GIL_DISABLED") and not getattr(sys, "_is_gil_enabled", bool)():
        raise ImportError(
            "greenlane needs the GIL: this is a free-threaded CPython build "
            f"({sys.version.split()[0]}t), which greenlet does not support; "
            "use a standard (GIL) build or run with PYTHON_GIL=1"
        )
