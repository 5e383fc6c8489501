"""I/O readiness behind one small interface: epoll on Linux, poll or select elsewhere.

A wait may keep its fd registered after it ends instead of removing it
(eventlet pays an ``epoll_ctl`` to add and another to remove on every wait).
A green socket that reads, answers and waits to read again then makes no
``epoll_ctl`` call at all in steady state. Only owners that announce every
close with ``notify_close`` may keep registrations (``Hub.wait_fd(keep=True)``):
a registration outliving its fd would miss a reuse of the number. Plain
``trampoline`` waits register and unregister around themselves. A kept
registration may be reported when nobody waits any more; the hub then narrows
or drops it on that first report, so an idle fd costs one wake-up, never a
spin.

All pollers are level-triggered and report ``(fd, events)`` with the epoll
bit values (``READ``, ``WRITE``, ``ERROR``), whatever the backend.
"""

from __future__ import annotations

import errno
import select
from typing import Final, Protocol

from . import _stdlib

__all__ = ["ERROR", "READ", "WRITE", "Poller", "make_poller"]

READ: Final = select.POLLIN | select.POLLPRI if _stdlib.HAS_POLL else 1
WRITE: Final = select.POLLOUT if _stdlib.HAS_POLL else 4
ERROR: Final = (select.POLLERR | select.POLLHUP | select.POLLNVAL) if _stdlib.HAS_POLL else 8

# The real pollers, captured before greenlane.patcher can make select's green ones.
if _stdlib.HAS_EPOLL:
    _epoll = select.epoll
if _stdlib.HAS_POLL:
    _poll = select.poll
_select: Final = select.select

# epoll_wait() takes an int of milliseconds; cap huge deadlines (asyncio and trio use a day too).
MAX_POLL_TIMEOUT: Final = 24 * 60 * 60.0


class Poller(Protocol):
    """What the hub needs from an I/O readiness backend."""

    name: str

    def register(self, fd: int, events: int) -> None:
        """Start watching ``fd`` for ``events``."""

    def modify(self, fd: int, events: int) -> None:
        """Change what a registered ``fd`` is watched for."""

    def unregister(self, fd: int) -> None:
        """Stop watching ``fd`` (no error if it is already gone)."""

    def poll(self, timeout: float | None) -> list[tuple[int, int]]:
        """Wait up to ``timeout`` seconds (None: forever) and return the ready fds."""

    def close(self) -> None:
        """Release the backend's own resources."""


class EpollPoller:
    """Linux epoll, level-triggered."""

    name = "epoll"

    def __init__(self) -> None:
        self._epoll = _epoll()
        self.register = self._epoll.register
        self.modify = self._epoll.modify

    def unregister(self, fd: int) -> None:
        try:
            self._epoll.unregister(fd)
        except OSError as exc:  # already closed, or closed and reused: nothing to remove
            # EPERM: reused by a file epoll cannot watch (a regular file, notify_opened after open()).
            if exc.errno not in (errno.EBADF, errno.ENOENT, errno.EPERM):
                raise

    def poll(self, timeout: float | None) -> list[tuple[int, int]]:
        if timeout is None:
            return self._epoll.poll(-1)
        return self._epoll.poll(min(timeout, MAX_POLL_TIMEOUT))

    def close(self) -> None:
        self._epoll.close()


class PollPoller:
    """POSIX poll(); same bits as epoll for the events the hub uses."""

    name = "poll"

    def __init__(self) -> None:
        self._poll = _poll()
        self.register = self._poll.register
        self.modify = self._poll.modify

    def unregister(self, fd: int) -> None:
        try:
            self._poll.unregister(fd)
        except KeyError:
            pass

    def poll(self, timeout: float | None) -> list[tuple[int, int]]:
        if timeout is None:
            return self._poll.poll()
        # poll() rounds down to whole ms; round up so a 0.4 ms timer does not busy-loop.
        return self._poll.poll(min(timeout, MAX_POLL_TIMEOUT) * 1000.0 + 0.999)

    def close(self) -> None:
        pass


# select() takes no fd at or past this (glibc's fixed fd_set size); refuse it up front
# rather than have every pass report it as errored.
SELECT_FD_SETSIZE: Final = 1024


class SelectPoller:
    """select(): the portable fallback (limited to FD_SETSIZE fds)."""

    name = "select"

    def __init__(self) -> None:
        self._fds: dict[int, int] = {}

    def register(self, fd: int, events: int) -> None:
        if fd >= SELECT_FD_SETSIZE:
            raise ValueError(
                f"fd {fd} is past select()'s FD_SETSIZE ({SELECT_FD_SETSIZE}): "
                "use the epoll or poll hub (GREENLANE_HUB)"
            )
        self._fds[fd] = events

    modify = register

    def unregister(self, fd: int) -> None:
        self._fds.pop(fd, None)

    def poll(self, timeout: float | None) -> list[tuple[int, int]]:
        fds = self._fds
        if timeout is not None:
            timeout = min(timeout, MAX_POLL_TIMEOUT)
        if not fds:
            if timeout:
                _stdlib.os_sleep(timeout)
            return []
        items = list(fds.items())  # one atomic copy: release_fd may unregister from another thread
        readers = [fd for fd, ev in items if ev & READ]
        writers = [fd for fd, ev in items if ev & WRITE]
        try:
            r, w, x = _select(readers, writers, [fd for fd, _ in items], timeout)
        except (OSError, ValueError):
            # A closed fd poisons the whole call; report every fd as errored so
            # the hub wakes their waiters and drops the dead registrations.
            return [(fd, ERROR) for fd, _ in items if not _fd_alive(fd)]
        ready: dict[int, int] = {}
        for fd in r:
            ready[fd] = ready.get(fd, 0) | READ
        for fd in w:
            ready[fd] = ready.get(fd, 0) | WRITE
        for fd in x:
            ready[fd] = ready.get(fd, 0) | ERROR
        return list(ready.items())

    def close(self) -> None:
        self._fds.clear()


def _fd_alive(fd: int) -> bool:
    try:
        _select([fd], [], [], 0)
    except (OSError, ValueError):
        return False
    return True


POLLERS: Final[dict[str, type[EpollPoller] | type[PollPoller] | type[SelectPoller]]] = {
    "select": SelectPoller,
}
if _stdlib.HAS_POLL:
    POLLERS["poll"] = PollPoller
if _stdlib.HAS_EPOLL:
    POLLERS["epoll"] = EpollPoller


def default_poller_name() -> str:
    """The best backend this platform has."""
    for name in ("epoll", "poll", "select"):
        if name in POLLERS:
            return name
    raise AssertionError("unreachable: select always exists")


def make_poller(name: str | None = None) -> EpollPoller | PollPoller | SelectPoller:
    """A new poller: ``name`` if given, else the platform's best."""
    name = name or default_poller_name()
    try:
        cls = POLLERS[name]
    except KeyError:
        raise ValueError(
            f"unknown or unavailable hub poller {name!r}; this platform has {sorted(POLLERS)}"
        ) from None
    return cls()
