"""Cooperative ``select``: ``select``, ``poll`` and ``epoll`` that park the green thread.

One trick serves all three: an epoll set is itself a file descriptor that
becomes readable when any fd in it is ready. So a green wait on many fds
asks the kernel once without waiting (maybe the answer is already there),
and otherwise parks on one fd, the epoll set's, with the hub, then asks again.
``select.select`` builds a throwaway epoll set per call (where the platform
has none, it waits in a native thread instead); ``poll`` and ``epoll`` keep
theirs for their lifetime. The hub's own fd tables are untouched, so a green
``select`` on a socket another green thread also waits on is fine.

``devpoll`` and ``kqueue`` are not green; they are removed from the module,
as eventlet does, so code falls back to what is.
"""

from __future__ import annotations

import select as _std
from collections.abc import Iterable
from typing import Any, Final

from .._core import READ, check_timeout, get_hub
from ..tpool import execute as _in_native_thread

__implements__: Final = ("select", "poll", "epoll")
__removed__: Final = ("devpoll", "kqueue", "kevent")

_std_select: Final = _std.select
_StdEpoll: Final[Any] = getattr(_std, "epoll", None)
_StdPoll: Final[Any] = getattr(_std, "poll", None)

_SELECTING: Final = "select: waiting on fds"

error = OSError  # the stdlib's alias, kept for code that catches select.error


def __getattr__(name: str) -> Any:
    """Everything greenlane does not replace is the stdlib's own (except ``__removed__``)."""
    if name in __removed__:
        raise AttributeError(f"greenlane.green.select has no {name!r}: it cannot be made cooperative")
    return getattr(_std, name)


def _fileno(obj: Any) -> int:
    if isinstance(obj, int):
        fd = obj
    else:
        try:
            fd = obj.fileno()
        except AttributeError:
            raise TypeError(f"argument must be an int, or have a fileno() method: {obj!r}") from None
        if not isinstance(fd, int):
            raise TypeError(f"fileno() returned a non-integer: {fd!r}")
    if fd < 0:
        raise ValueError(f"file descriptor cannot be a negative integer ({fd})")
    return fd


def get_fileno(obj: Any) -> int:
    """eventlet's helper: ``obj`` if an int, else ``obj.fileno()``; TypeError (eventlet's words) otherwise."""
    fd = obj if isinstance(obj, int) else getattr(obj, "fileno", lambda: obj)()
    if not isinstance(fd, int):
        raise TypeError(f"Expected int or long, got {type(fd)}")
    return fd


def _check_timeout(timeout: float | None) -> float | None:
    return None if timeout is None else float(check_timeout(timeout, "select() timeout", negative=False))


def _park_on(epoll_fd: int, deadline: float | None, fds: Iterable[int] = ()) -> bool:
    """Park until ``epoll_fd`` is readable; False once ``deadline`` (hub clock) has passed.

    ``IOClosed`` if one of ``fds`` (those in the epoll set) is announced closed meanwhile.
    """
    hub = get_hub()
    timeout = None if deadline is None else max(deadline - hub.clock(), 0.0)
    if timeout == 0.0:
        return False
    if fds:
        return hub.wait_fd_or_close(epoll_fd, READ, timeout, _SELECTING, fds)
    return hub.wait_fd(epoll_fd, READ, timeout, _SELECTING)


def select(
    rlist: Iterable[Any], wlist: Iterable[Any], xlist: Iterable[Any], timeout: float | None = None, /
) -> tuple[list[Any], list[Any], list[Any]]:
    """The stdlib's ``select``; waiting parks only the calling green thread."""
    # Lists and tuples go to the first, non-waiting select as they are: the C
    # select reads a list's length afresh for each item, so a fileno() that
    # shrinks the list is seen exactly as unpatched (CPython's test_select_mutated).
    rlist, wlist, xlist = (s if type(s) in (list, tuple) else list(s) for s in (rlist, wlist, xlist))
    timeout = _check_timeout(timeout)
    ready = _std_select(rlist, wlist, xlist, 0)
    if ready[0] or ready[1] or ready[2] or timeout == 0:
        return ready
    hub = get_hub()
    deadline = None if timeout is None else hub.clock() + timeout
    if not (rlist or wlist or xlist):
        hub.park("select: nothing to wait on (a sleep)", timeout)
        return [], [], []
    if _StdEpoll is None:
        return _in_native_thread(_std_select, rlist, wlist, xlist, timeout)
    masks: dict[int, int] = {}
    for objs, mask in ((rlist, _std.EPOLLIN), (wlist, _std.EPOLLOUT), (xlist, _std.EPOLLPRI)):
        for obj in objs:
            fd = _fileno(obj)
            masks[fd] = masks.get(fd, 0) | mask
    with _StdEpoll() as ep:
        for fd, mask in masks.items():
            try:
                ep.register(fd, mask)
            except PermissionError:
                pass  # a regular file: always ready, and select(0) above already said so
        # Closing one of the fds (notify_close, eventlet's mark_as_reopened) raises IOClosed here.
        while _park_on(ep.fileno(), deadline, masks):
            ready = _std_select(rlist, wlist, xlist, 0)
            if ready[0] or ready[1] or ready[2]:
                return ready
    return [], [], []


if _StdEpoll is not None:

    class epoll:
        """The stdlib's ``epoll`` (which cannot be subclassed); ``poll()`` parks the green thread."""

        def __init__(self, sizehint: int = -1, flags: int = 0, *, _wrap: Any = None) -> None:
            self._epoll = _StdEpoll(sizehint, flags) if _wrap is None else _wrap

        @classmethod
        def fromfd(cls, fd: int) -> epoll:
            """An epoll object on an existing epoll fd."""
            return cls(_wrap=_StdEpoll.fromfd(fd))

        @property
        def closed(self) -> bool:
            """True once closed."""
            return bool(self._epoll.closed)

        def close(self) -> None:
            """Close the epoll fd."""
            self._epoll.close()

        def fileno(self) -> int:
            """The epoll fd."""
            return int(self._epoll.fileno())

        def register(self, fd: Any, eventmask: int = _std.EPOLLIN | _std.EPOLLPRI | _std.EPOLLOUT) -> None:
            """Watch ``fd`` for ``eventmask``."""
            self._epoll.register(fd, eventmask)

        def modify(self, fd: Any, eventmask: int) -> None:
            """Change the mask of a watched ``fd``."""
            self._epoll.modify(fd, eventmask)

        def unregister(self, fd: Any) -> None:
            """Stop watching ``fd``."""
            self._epoll.unregister(fd)

        def poll(self, timeout: float | None = None, maxevents: int = -1) -> list[tuple[int, int]]:
            """Events ready now, or once some are (within ``timeout`` seconds; -1 or None: no limit)."""
            if timeout is not None and check_timeout(timeout, "epoll.poll() timeout") < 0:
                timeout = None
            events: list[tuple[int, int]] = self._epoll.poll(0, maxevents)
            if events or timeout == 0:
                return events
            hub = get_hub()
            deadline = None if timeout is None else hub.clock() + timeout
            while _park_on(self._epoll.fileno(), deadline):
                events = self._epoll.poll(0, maxevents)
                if events:
                    return events
            return []

        def __enter__(self) -> epoll:
            return self

        def __exit__(self, *exc_info: object) -> None:
            self.close()

        def __repr__(self) -> str:
            state = "closed" if self.closed else f"fd={self.fileno()}"
            return f"<greenlane.green.select.epoll {state}>"


if _StdPoll is not None and _StdEpoll is not None:
    _POLL_TO_EPOLL: Final = (
        (_std.POLLIN, _std.EPOLLIN),
        (_std.POLLOUT, _std.EPOLLOUT),
        (_std.POLLPRI, _std.EPOLLPRI),
    )

    class poll:
        """The stdlib's ``poll`` object; ``poll()`` parks the green thread (milliseconds, as the stdlib)."""

        def __init__(self) -> None:
            self._poll = _StdPoll()
            self._epoll = _StdEpoll()
            self._masks: dict[int, int] = {}

        def _mirror(self, fd: int, mask: int) -> None:
            emask = 0
            for pmask, epmask in _POLL_TO_EPOLL:
                if mask & pmask:
                    emask |= epmask
            try:
                if fd in self._masks:
                    self._epoll.modify(fd, emask)
                else:
                    self._epoll.register(fd, emask)
            except PermissionError:
                pass  # a regular file: the real poll reports it at once

        def register(self, fd: Any, eventmask: int = _std.POLLIN | _std.POLLPRI | _std.POLLOUT) -> None:
            """Watch ``fd`` for ``eventmask`` (replacing an earlier mask)."""
            fd = _fileno(fd)
            self._poll.register(fd, eventmask)
            self._mirror(fd, eventmask)
            self._masks[fd] = eventmask

        def modify(self, fd: Any, eventmask: int) -> None:
            """Change the mask of a watched ``fd`` (``FileNotFoundError`` if not watched)."""
            fd = _fileno(fd)
            self._poll.modify(fd, eventmask)
            self._mirror(fd, eventmask)
            self._masks[fd] = eventmask

        def unregister(self, fd: Any) -> None:
            """Stop watching ``fd`` (``KeyError`` if not watched)."""
            fd = _fileno(fd)
            self._poll.unregister(fd)
            del self._masks[fd]
            try:
                self._epoll.unregister(fd)
            except OSError:
                pass  # closed already (the kernel dropped it) or a regular file

        def poll(self, timeout: float | None = None) -> list[tuple[int, int]]:
            """Ready ``(fd, events)`` pairs; ``timeout`` in milliseconds, None or negative: no limit."""
            if timeout is not None and check_timeout(timeout, "poll() timeout") < 0:
                timeout = None
            events: list[tuple[int, int]] = self._poll.poll(0)
            if events or timeout == 0:
                return events
            hub = get_hub()
            deadline = None if timeout is None else hub.clock() + timeout / 1000.0
            while _park_on(self._epoll.fileno(), deadline):
                events = self._poll.poll(0)
                if events:
                    return events
            return []

        def __repr__(self) -> str:
            return f"<greenlane.green.select.poll fds={sorted(self._masks)}>"

        def __del__(self) -> None:
            self._epoll.close()
