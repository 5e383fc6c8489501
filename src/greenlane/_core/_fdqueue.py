"""Several green threads waiting on one fd: a FIFO line behind the fd's one waiter.

By default a second green thread that waits to read (or write) an fd somebody
already waits on gets ``RuntimeError``: two readers of one socket almost
always mean two requests interleaving their bytes. Some code shares an fd on
purpose, though: oslo.log's ``PipeMutex`` (the logging lock of every OpenStack
service) is a pipe used as a lock, where writing a byte releases and reading
one acquires, so every green thread that wants the lock waits to read the
same fd. eventlet allows that once ``debug.hub_prevent_multiple_readers(False)``
was called, and so does greenlane when ``Hub.multiple_fd_waiters`` is True
(``set_multiple_fd_waiters``; process-wide, as eventlet's toggle is).

Shape, and why. The hub's reader and writer tables keep holding exactly one
record per fd, the *head*: the only one the poller's reports wake. The others
wait in arrival order in ``lines[(fd, direction)]``. When the head leaves
for any reason (woken by readiness, timed out, killed, closed under it) the
next in line is promoted into the table at once, so the fd never goes
unwatched while somebody waits on it: with level-triggered polling a report
the woken head did not consume (it was killed before reading, say) wakes the
new head on the next poll, and no wake-up is lost. Waking one waiter at a time
is what eventlet does and what a lock wants: the byte written by a release
goes to the first in line, not to whoever the scheduler happens to run first.

Cost. ``wait_fd``'s test for an fd that already has a waiter (made
before, to refuse it) now picks the shared path, and records of a shared
fd carry the ``SHARED`` bit in ``events``: the I/O manager's
inlined fast path for "readable, one reader" compares ``events`` with plain
``READ``, so it sends them to the general path. An fd nobody shares runs the
same bytecode as before this module existed (measured: opcodes per green
socket round trip unchanged).

Invariants (kept here): a line exists only for an fd and direction whose table
holds a head; a line is never empty; every record in a line or a table is
PARKED, with ``SHARED`` set in its ``events`` if it is in a line or heads one.

Close watchers. A green ``select`` waits on an epoll fd of its own that holds
the fds it was given, so closing one of those (``notify_close``, eventlet's
``mark_as_reopened``) would not reach it. ``wait_fd_or_close`` also lists
the waiter under each of those fds in ``close_watchers``, and
``notify_close`` wakes them with ``IOClosed`` as eventlet's select listeners
are; a close pays one dict check for this while nobody watches.
"""

from __future__ import annotations

import errno
from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar, Final

from greenlet import getcurrent as _getcurrent

from . import _pollers
from ._errors import IOClosed
from ._parking import PARKED, Parked, record_of

if TYPE_CHECKING:
    from ._hub import Hub

__all__ = ["SHARED", "FdLines"]

# Marks a record that waits on an fd shared with others (not a poller bit).
SHARED: Final = 1 << 16

_READ: Final = _pollers.READ
_WRITE: Final = _pollers.WRITE

Line = deque[Parked]


class FdLines:
    """The shared-fd half of ``PollerIO``: its lines and close watchers (its base class)."""

    # Process-wide, as eventlet's toggle: set through ``set_multiple_fd_waiters``.
    multiple_fd_waiters: ClassVar[bool] = False

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        # fd -> the record woken by the fd's readiness (the head of its line, if any).
        self.readers: dict[int, Parked] = {}
        self.writers: dict[int, Parked] = {}
        # (fd, READ or WRITE) -> the records waiting behind that table's head, first come first.
        self.lines: dict[tuple[int, int], Line] = {}
        # fd -> records woken with IOClosed when it is announced closed (wait_fd_or_close).
        self.close_watchers: dict[int, list[Parked]] = {}

    def wait_fd(
        self, fd: int, events: int, timeout: float | None = None, reason: str = "", *, keep: bool = False
    ) -> bool:
        raise NotImplementedError

    def wait_fd_or_close(
        self, fd: int, events: int, timeout: float | None, reason: str, closes: Iterable[int]
    ) -> bool:
        """``wait_fd``, also ended by ``IOClosed`` if one of ``closes`` is announced closed meanwhile.

        For waits on an fd that stands for others (green ``select``'s epoll
        set): ``notify_close`` of any of ``closes`` wakes this waiter too.
        """
        rec = record_of(_getcurrent(), self.hub)
        watched = list(closes)
        watchers = self.close_watchers
        for other in watched:
            watchers.setdefault(other, []).append(rec)
        try:
            return self.wait_fd(fd, events, timeout, reason)
        finally:
            for other in watched:
                recs = watchers.get(other)
                if recs is not None and rec in recs:
                    recs.remove(rec)
                    if not recs:
                        del watchers[other]

    def _wake_close_watchers(self, fd: int) -> None:
        for rec in self.close_watchers.pop(fd, ()):
            if rec.state == PARKED:
                self.hub.throw(rec.glet, IOClosed(errno.EBADF, f"fd {fd} was closed while selected on"))

    def _join_line(self, rec: Parked, fd: int, events: int) -> None:
        """Enter ``rec`` (about to park on shared ``fd`` for ``events``) in a table or behind its head."""
        rec.events = events | SHARED
        for bit, table in ((_READ, self.readers), (_WRITE, self.writers)):
            if not events & bit:
                continue
            head = table.get(fd)
            if head is None:
                table[fd] = rec
            else:
                head.events |= SHARED  # from now on its wake-up takes the general path
                line = self.lines.get((fd, bit))
                if line is None:
                    line = self.lines[(fd, bit)] = deque()
                line.append(rec)

    def _leave_lines(self, rec: Parked) -> None:
        """Take shared waiter ``rec`` out of the tables and lines, promoting the next in line."""
        fd = rec.fd
        for bit, table in ((_READ, self.readers), (_WRITE, self.writers)):
            if not rec.events & bit:
                continue
            line = self.lines.get((fd, bit))
            if table.get(fd) is rec:
                if line is None:
                    del table[fd]
                else:
                    table[fd] = line.popleft()
                    if not line:
                        del self.lines[(fd, bit)]
            elif line is not None:
                try:
                    line.remove(rec)
                except ValueError:
                    continue
                if not line:
                    del self.lines[(fd, bit)]

    def fd_waiters(self, fd: int) -> list[Parked]:
        """Every record waiting on ``fd``, heads first then the lines in order, each once."""
        out: list[Parked] = []
        for bit, table in ((_READ, self.readers), (_WRITE, self.writers)):
            head = table.get(fd)
            if head is not None and head not in out:
                out.append(head)
            for rec in self.lines.get((fd, bit), ()):
                if rec not in out:
                    out.append(rec)
        return out


def check_fd_free(hub: Hub, fd: int, events: int) -> None:
    """``RuntimeError`` if ``fd`` already has a waiter for ``events`` and several are not allowed."""
    io = hub.io
    taken = (events & _READ and fd in io.readers) or (events & _WRITE and fd in io.writers)
    if taken and not FdLines.multiple_fd_waiters:
        what = "read" if events & _READ and fd in io.readers else "write"
        raise RuntimeError(
            f"fd {fd} already has a green thread waiting to {what} it; if several "
            f"should wait in turn (a pipe used as a lock), call "
            f"greenlane.debug.hub_prevent_multiple_readers(False)"
        )


def multiple_fd_waiters() -> bool:
    """Whether several green threads may wait on one fd (``set_multiple_fd_waiters``)."""
    return FdLines.multiple_fd_waiters


def set_multiple_fd_waiters(allowed: bool) -> None:
    """Allow (True) or refuse (False, the default) several green threads waiting on one fd.

    Process-wide, as eventlet's ``hub_prevent_multiple_readers``. When
    allowed, the waiters of one fd and direction are woken one at a time in
    arrival order (see ``_fdqueue``). Turning it off does not disturb the
    waits already lined up.
    """
    FdLines.multiple_fd_waiters = bool(allowed)
