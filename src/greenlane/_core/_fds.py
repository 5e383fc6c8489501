"""Waiting on file descriptors: the hub's reader and writer tables and its poller registrations.

The registration policy is explained in ``_pollers``: a wait that asks to
``keep`` its registration (green sockets, which announce every close with
``notify_close``) costs no syscall in steady state; other waits register and
unregister around themselves, so a closed-and-reused fd number can never be
missed. A report for an fd nobody waits on narrows its registration at once,
and an fd that epoll keeps reporting but cannot drop (closed while a
duplicate keeps the file open) makes the hub rebuild its poller rather than
spin. Several waiters on one fd, when allowed, line up behind the fd's one
waiter (``_fdqueue``).
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any, Final

from greenlet import getcurrent as _getcurrent

from . import _pollers, _stdlib
from ._errors import IOClosed
from ._fdqueue import SHARED, FdLines
from ._parking import PARKED, TIMED_OUT, WOKEN, Parked, record_of, take_deferred
from ._timeouts import check_timeout
from ._timers import TimerHeap

__all__ = ["FdWaits"]

_READ: Final = _pollers.READ
_WRITE: Final = _pollers.WRITE
# Any report bit other than readability (writable, error, hang-up) takes the general path.
_NOT_READ: Final = ~_pollers.READ


class FdWaits(FdLines):
    """The fd half of the hub (a mixin: ``Hub`` supplies the fields below)."""

    _readers: dict[int, Parked]
    _writers: dict[int, Parked]
    _close_watchers: dict[int, set[Any]]
    _registered: dict[int, int]
    _poller: _pollers.EpollPoller | _pollers.PollPoller | _pollers.SelectPoller
    _wakeup_r: int
    _drain_wakeup: Callable[[], None]
    _pass_start: float
    _ident: int
    _closed: bool
    call_soon_threadsafe: Callable[..., None]
    _timers: TimerHeap
    clock: Callable[[], float]
    _ready: Any
    _expire: Callable[[Parked], None]
    _switch_out: Callable[[Parked], Any]
    throw: Callable[..., bool]

    def wait_fd(
        self,
        fd: int,
        events: int,
        timeout: float | None = None,
        reason: str = "",
        *,
        keep: bool = False,
    ) -> bool:
        """Park until ``fd`` is ready for ``events`` (READ and/or WRITE); False on timeout.

        With ``keep=True`` the fd stays registered after the wait, so the next
        wait on it costs no syscall (see ``_pollers``); only owners that call
        ``notify_close`` before closing the fd may ask for that (green
        sockets do), since a registration outliving its fd would miss a reuse
        of the number.
        """
        if timeout is not None and not (timeout.__class__ is float and timeout >= 0.0):
            timeout = check_timeout(timeout)  # the net under the callers' checks (see _timeouts)
        glet = _getcurrent()
        rec: Parked | None = getattr(glet, "rec", None)
        if rec is None or rec.hub is not self:
            rec = record_of(glet, self)  # type: ignore[arg-type]
        if rec.deferred is not None:
            raise take_deferred(rec)
        shared = (events & _READ and fd in self._readers) or (events & _WRITE and fd in self._writers)
        if shared:
            self._refuse_second(fd, events)  # unless several waiters are allowed (_fdqueue)
        have = self._registered.get(fd)
        if (have is None or have & events != events) and not self._watch(fd, events):
            return True  # a regular file: epoll refuses it, and it is always ready
        rec.reason = reason or f"fd {fd}"
        rec.queue = None
        rec.on_abandon = None
        rec.fd = fd
        rec.events = events
        rec.since = self._pass_start  # for greenlane.debug's dump (no clock read per wait)
        rec.state = PARKED
        if shared:
            self._join_line(rec, fd, events)
        else:
            if events & _READ:
                self._readers[fd] = rec
            if events & _WRITE:
                self._writers[fd] = rec
        if timeout is not None:
            rec.timer = self._timers.add(self.clock() + timeout, self._expire, rec.args)
        try:
            return self._switch_out(rec) is not TIMED_OUT
        finally:
            rec.fd = -1
            if not keep:
                self._narrow(fd, (_pollers.READ if fd in self._readers else 0)
                             | (_pollers.WRITE if fd in self._writers else 0))

    def _watch(self, fd: int, events: int) -> bool:
        have = self._registered.get(fd)
        try:
            if have is None:
                self._poller.register(fd, events)
                self._registered[fd] = events
            elif have & events != events:
                self._poller.modify(fd, have | events)
                self._registered[fd] = have | events
        except PermissionError:
            return False
        except OSError as exc:
            if exc.errno == errno.ENOENT and have is not None:  # fd closed and reused unannounced
                self._poller.register(fd, events)
                self._registered[fd] = events
            else:
                raise
        return True

    def notify_close(self, fd: int) -> None:
        """Announce that ``fd`` is about to be closed: its waiters (all of them) get ``IOClosed``."""
        for rec in self._fd_waiters(fd):
            self.throw(rec.glet, IOClosed(errno.EBADF, f"fd {fd} was closed while waited on"))
        if self._close_watchers:
            for glet in self._close_watchers.pop(fd, ()):
                self.throw(glet, IOClosed(errno.EBADF, f"fd {fd} was closed while selected on"))
        if self._registered.pop(fd, None) is not None:
            self._poller.unregister(fd)

    def watch_close(self, fds: Any, glet: Any) -> None:
        """Have ``notify_close`` of any of ``fds`` throw ``IOClosed`` into ``glet`` (until ``unwatch_close``).

        For waits on fds the hub does not hold itself: a green ``select``
        parks on a private epoll set, yet a close of a socket it watches
        must wake it, as eventlet's does.
        """
        watchers = self._close_watchers
        for fd in fds:
            watchers.setdefault(fd, set()).add(glet)

    def unwatch_close(self, fds: Any, glet: Any) -> None:
        """Undo ``watch_close`` (fds already closed are skipped)."""
        watchers = self._close_watchers
        for fd in fds:
            glets = watchers.get(fd)
            if glets is not None:
                glets.discard(glet)
                if not glets:
                    del watchers[fd]

    def release_fd(self, fd: int) -> None:
        """``notify_close`` from any OS thread; nothing to do once the hub is closed."""
        if self._closed:
            return
        if _stdlib.get_ident() == self._ident:
            self.notify_close(fd)
            return
        # Another OS thread is about to close fd, and the number may be reused by
        # this hub's thread right after: drop the registration now (a dict pop is
        # atomic, and the pollers' unregister is safe from any thread), and only
        # wake the waiters (if any) on the hub's thread, if they still wait on it.
        if self._registered.pop(fd, None) is not None:
            self._poller.unregister(fd)
        waiters = [rec for rec in (self._readers.get(fd), self._writers.get(fd)) if rec is not None]
        if self._fd_lines:  # tuple() copies a deque without releasing the GIL
            lines = self._fd_lines
            waiters += tuple(lines.get((fd, _READ), ())) + tuple(lines.get((fd, _WRITE), ()))
        if waiters:
            self.call_soon_threadsafe(self._wake_released, fd, waiters)

    def _wake_released(self, fd: int, waiters: list[Parked]) -> None:
        for rec in waiters:
            if rec.fd == fd and rec.state == PARKED:  # still in that same wait
                self.throw(rec.glet, IOClosed(errno.EBADF, f"fd {fd} was closed while waited on"))

    def _dispatch_all(self, events: list[tuple[int, int]]) -> None:
        """Wake the waiters of the fds the poller reported (the wake-up fd aside)."""
        wakeup, readers, append = self._wakeup_r, self._readers, self._ready.append
        for fd, ev in events:
            if fd == wakeup:
                self._drain_wakeup()
                continue
            if not ev & _NOT_READ:
                # The common report, inlined: readable, and one thread waits to read only.
                rec = readers.get(fd)
                if rec is not None and rec.events == _READ:
                    del readers[fd]
                    rec.state = WOKEN
                    rec.value = None
                    append(rec)
                    continue
            self._dispatch(fd, ev)

    def _dispatch(self, fd: int, ev: int) -> None:
        woke = 0
        if ev & (_pollers.READ | _pollers.ERROR):
            rec = self._readers.get(fd)
            if rec is not None:
                self._wake_fd_waiter(rec)
                woke |= _pollers.READ
        if ev & (_pollers.WRITE | _pollers.ERROR):
            rec = self._writers.get(fd)
            if rec is not None:
                self._wake_fd_waiter(rec)
                woke |= _pollers.WRITE
        if ev & ~woke:
            # Reported but nobody waits for it: narrow the registration (see _pollers).
            want = (_pollers.READ if fd in self._readers else 0) | (
                _pollers.WRITE if fd in self._writers else 0
            )
            self._narrow(fd, want)

    def _wake_fd_waiter(self, rec: Parked) -> None:
        """Wake ``rec`` (the head of its fd's tables) and take it out of them."""
        rec.state = WOKEN
        events = rec.events
        if events & SHARED:
            self._leave_lines(rec)  # the next in line becomes the head
        else:
            if events & _READ:
                del self._readers[rec.fd]
            if events & _WRITE:
                del self._writers[rec.fd]
        rec.value = None
        self._ready.append(rec)

    def _narrow(self, fd: int, want: int) -> None:
        if fd not in self._registered:
            return  # a report already queued for an fd we dropped
        try:
            if want:
                self._poller.modify(fd, want)
                self._registered[fd] = want
            else:
                del self._registered[fd]
                self._poller.unregister(fd)
        except OSError:
            # The fd was closed without notify_close while a duplicate keeps its
            # file open, so epoll still reports it and cannot be told to stop:
            # rebuild the poller without it rather than spin.
            self._registered.pop(fd, None)
            self._rebuild_poller()

    def _rebuild_poller(self) -> None:
        self._poller.close()
        self._poller = _pollers.make_poller(self._poller.name)
        self._poller.register(self._wakeup_r, _pollers.READ)
        for fd, events in list(self._registered.items()):
            try:
                self._poller.register(fd, events)
            except OSError:
                del self._registered[fd]
