"""eventlet's ``hubs`` module: reach the current hub, choose its poller, wait on a raw fd."""

from __future__ import annotations

from typing import Any, Final, Protocol

from .._core import READ, WRITE, Hub, HubStatistics, IOClosed, check_timeout, get_hub, reset_thread_hub
from .._core import set_preferred_poller as _set_preferred_poller
from .._core._hub import check_hub_idle
from ..timeout import Timeout

__all__ = [
    "Hub",
    "HubStatistics",
    "IOClosed",
    "get_hub",
    "notify_close",
    "trampoline",
    "use_hub",
]

# eventlet's hub module names, mapped to greenlane's pollers.
_ALIASES: Final = {
    "epolls": "epoll",
    "epoll": "epoll",
    "poll": "poll",
    "polls": "poll",
    "selects": "select",
    "select": "select",
}


class _HasFileno(Protocol):
    def fileno(self) -> int: ...


def use_hub(name: str | None = None) -> None:
    """Make this thread's hub (and its later ones) poll with ``name``: epoll, poll or select.

    eventlet's module names (``"epolls"``, ``"selects"``) are accepted. The
    current hub is replaced only when idle; ``None`` restores the default.
    """
    if name is not None:
        if not isinstance(name, str) or name.lower() not in _ALIASES:
            raise ValueError(f"unknown hub {name!r}; use one of epoll, poll, select")
        name = _ALIASES[name.lower()]
    check_hub_idle()
    _set_preferred_poller(name)
    reset_thread_hub()


def _fileno(fd: int | _HasFileno) -> int:
    if isinstance(fd, int):
        return fd
    try:
        return fd.fileno()
    except AttributeError:
        raise TypeError(f"expected an fd or an object with fileno(), not {fd!r}") from None


def trampoline(
    fd: int | _HasFileno,
    read: bool = False,
    write: bool = False,
    timeout: float | None = None,
    timeout_exc: Any = Timeout,
) -> None:
    """Suspend the current green thread until ``fd`` is readable or writable.

    Raises ``timeout_exc`` (a class or instance) if ``timeout`` passes first,
    and ``IOClosed`` if another green thread announces the fd's close with
    ``notify_close``.
    """
    events = (READ if read else 0) | (WRITE if write else 0)
    if not events:
        raise ValueError("trampoline() needs read=True or write=True")
    if timeout is not None:
        timeout = check_timeout(timeout, "trampoline() timeout")
    fileno = _fileno(fd)
    if not get_hub().wait_fd(fileno, events, timeout, f"fd {fileno}"):
        if isinstance(timeout_exc, type) and issubclass(timeout_exc, Timeout):
            raise timeout_exc()  # eventlet raises the class bare
        if isinstance(timeout_exc, type):
            raise timeout_exc("timed out")
        raise timeout_exc


def notify_close(fd: int | _HasFileno) -> None:
    """Call before closing ``fd``: green threads waiting on it get ``IOClosed``."""
    get_hub().notify_close(_fileno(fd))
