"""The cross-thread wake-up pipe of a poller-driven hub, and the signal wake-up fd.

A hub asleep in its poller can be woken from another OS thread only through
an fd the poller watches: ``call_soon_threadsafe`` queues its call, then
(only while the hub sleeps) writes one byte here. In the main thread the same
pipe is Python's signal wake-up fd, so a signal handler that sets an Event
takes effect at once instead of at the next timer. The pipe is the I/O
manager's (``_io.PollerIO``): an I/O manager driven by another loop wakes it
its own way.

Invariants: both ends are non-blocking, so a full pipe means a wake-up is
already pending and ``wake`` never blocks; ``drain`` empties it, and runs
only in the hub's thread.
"""

from __future__ import annotations

import os
import signal

from . import _stdlib
from ._wakers import is_main_thread

__all__ = ["WakeupPipe"]


class WakeupPipe:
    """A self-pipe: ``wake()`` from any thread makes ``fd`` readable until ``drain()``."""

    __slots__ = ("_signal_fd_set", "_w", "fd")

    def __init__(self, ident: int) -> None:
        self.fd, self._w = os.pipe()
        os.set_blocking(self.fd, False)
        os.set_blocking(self._w, False)
        self._signal_fd_set = False
        if is_main_thread(ident):
            # Wake the poll when a signal arrives, so a Python handler that
            # unparks someone (an Event.send on SIGTERM) takes effect at once.
            try:
                previous = signal.set_wakeup_fd(self._w, warn_on_full_buffer=False)
            except ValueError:
                return
            if previous != -1:  # someone else (asyncio?) owns it: leave theirs
                signal.set_wakeup_fd(previous)
            else:
                self._signal_fd_set = True

    def wake(self) -> None:
        """Make ``fd`` readable; safe from any OS thread, never blocks."""
        try:
            _stdlib.os_write(self._w, b"\0")
        except BlockingIOError:  # pipe full: a wake-up is already pending
            pass

    def drain(self) -> None:
        """Consume every pending wake-up (the hub's thread)."""
        try:
            while _stdlib.os_read(self.fd, 4096):
                pass
        except BlockingIOError:
            pass

    def close(self) -> None:
        """Give the signal wake-up fd back and close both ends."""
        if self._signal_fd_set:
            self._signal_fd_set = False
            try:
                signal.set_wakeup_fd(-1)
            except ValueError:  # not the main thread any more (closing from elsewhere)
                pass
        os.close(self.fd)
        os.close(self._w)
