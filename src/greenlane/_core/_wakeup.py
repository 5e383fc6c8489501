"""The hub's cross-thread wake-up pipe, signal wake-ups and fork handling.

One pipe per hub is the only way into it from another OS thread
(``call_soon_threadsafe`` writes a byte only while the hub sleeps in its
poll). In the main thread the same pipe is also Python's signal wake-up fd,
so a signal handler that sets an Event wakes the poll at once. After a fork
the child's hub gets a new poller and a new pipe; work pending in threads
that did not survive the fork is forgotten.
"""

from __future__ import annotations

import os
import signal

from . import _pollers, _stdlib
from ._wakers import is_main_thread

__all__ = ["Wakeup"]


class Wakeup:
    """The wake-up half of the hub (a mixin: ``Hub`` supplies the fields below)."""

    _ident: int
    _poller: _pollers.EpollPoller | _pollers.PollPoller | _pollers.SelectPoller
    _registered: dict[int, int]
    _wakeup_r: int
    _wakeup_w: int
    _signal_fd_set: bool
    _closed: bool
    _pending_external: int
    _xthread: object

    def _open_wakeup(self) -> None:
        self._wakeup_r, self._wakeup_w = os.pipe()
        os.set_blocking(self._wakeup_r, False)
        os.set_blocking(self._wakeup_w, False)
        self._poller.register(self._wakeup_r, _pollers.READ)
        self._signal_fd_set = False
        if is_main_thread(self._ident):
            # Wake the poll when a signal arrives, so a Python handler that
            # unparks someone (an Event.send on SIGTERM) takes effect at once.
            try:
                previous = signal.set_wakeup_fd(self._wakeup_w, warn_on_full_buffer=False)
            except ValueError:
                return
            if previous != -1:  # someone else (asyncio?) owns it: leave theirs
                signal.set_wakeup_fd(previous)
            else:
                self._signal_fd_set = True

    def _close_wakeup(self) -> None:
        if self._signal_fd_set:
            try:
                signal.set_wakeup_fd(-1)
            except ValueError:  # not the main thread any more (closing from elsewhere)
                pass
        self._poller.unregister(self._wakeup_r)
        os.close(self._wakeup_r)
        os.close(self._wakeup_w)

    def _drain_wakeup(self) -> None:
        try:
            while _stdlib.os_read(self._wakeup_r, 4096):
                pass
        except BlockingIOError:
            pass

    def _after_fork(self) -> None:
        """In a forked child: a fresh poller and wake-up pipe; work of dead threads is gone."""
        self._ident = _stdlib.get_ident()
        if self._signal_fd_set:  # forget the parent's pipe before closing it
            try:
                signal.set_wakeup_fd(-1)
            except ValueError:
                pass
            self._signal_fd_set = False
        self._poller.close()
        self._poller = _pollers.make_poller(self._poller.name)
        os.close(self._wakeup_r)
        os.close(self._wakeup_w)
        self._open_wakeup()
        for fd, events in list(self._registered.items()):
            try:
                self._poller.register(fd, events)
            except OSError:
                del self._registered[fd]
        self._xthread.clear()  # type: ignore[attr-defined]
        self._pending_external = 0

    def close(self) -> None:
        """Release the poller and wake-up pipe (the hub must be idle)."""
        self._closed = True
        self._close_wakeup()
        self._poller.close()
