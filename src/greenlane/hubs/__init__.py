"""eventlet's ``hubs`` module: reach the current hub, choose its poller, wait on a raw fd.

``use_hub`` takes what eventlet's takes: a name (``"epolls"``, ``"poll"``,
``"selects"``, or ``"package.module:Class"``), one of the modules
``hubs.epolls``/``hubs.poll``/``hubs.selects``, or their ``Hub`` class. All
choose the poller of greenlane's one hub; a hub class of another library
cannot run greenlane's green threads, and is refused with ``TypeError``.
"""

from __future__ import annotations

import importlib
import select
from collections.abc import Callable
from types import ModuleType
from typing import Any, Final, Protocol

from .. import _core
from .._core import (
    READ,
    WRITE,
    HubStatistics,
    IOClosed,
    check_hub_idle,
    check_timeout,
    reset_thread_hub,
)
from .._core import set_preferred_poller as _set_preferred_poller
from ..timeout import Timeout
from . import asyncio as _asyncio  # noqa: F401  # installs the hub factory that picks the asyncio hub
from ._eventlet import Hub

__all__ = [
    "Hub",
    "HubStatistics",
    "IOClosed",
    "get_default_hub",
    "get_hub",
    "notify_close",
    "notify_opened",
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


def use_hub(
    mod: str | ModuleType | type | None = None, *, loop_factory: Callable[[], Any] | None = None
) -> None:
    """Make this thread's hub (and its later ones) poll with ``mod``: epoll, poll, select or asyncio.

    ``mod`` is a name (``"epoll"``/``"epolls"``, ``"poll"``,
    ``"select"``/``"selects"``, ``"asyncio"``, or eventlet's
    ``"package.module:Class"``), one of the modules ``hubs.epolls``,
    ``hubs.poll``, ``hubs.selects``, ``hubs.asyncio``, or its ``Hub`` class;
    ``None`` restores the default (``GREENLANE_HUB`` or the best available).
    The current hub is replaced only when idle.

    ``loop_factory`` (asyncio only) makes the event loop when greenlane has to
    start one itself, e.g. ``uvloop.new_event_loop``; by default
    ``asyncio.new_event_loop``. A loop already running in the thread
    (``asyncio.run``) is always the one used.
    """
    check_hub_idle()
    poller = _poller_of(mod)
    if loop_factory is not None and poller != "asyncio":
        raise ValueError(f"use_hub(loop_factory={loop_factory!r}) is for the asyncio hub, not {mod!r}")
    if poller == "asyncio" or loop_factory is not None:
        _core.set_loop_factory(loop_factory)
    _set_preferred_poller(poller)
    reset_thread_hub()


def _poller_of(mod: str | ModuleType | type | None) -> str | None:
    """The poller name ``use_hub(mod)`` means (None: the default)."""
    if mod is None:
        return None
    if isinstance(mod, str):
        name = mod.strip()
        if name.lower() in _ALIASES:
            return _ALIASES[name.lower()]
        if name.lower() == "asyncio":
            return "asyncio"
        if "." not in name and ":" not in name:
            raise ValueError(f"unknown hub {mod!r}; use one of epoll, poll, select, asyncio")
        module_name, _, class_name = name.partition(":")
        module = importlib.import_module(module_name)
        mod = getattr(module, class_name) if class_name else module
    if isinstance(mod, ModuleType):
        available = getattr(mod, "is_available", None)
        if available is not None and not available():
            raise RuntimeError(f"the hub {mod.__name__} is not available on this system")
        try:
            mod = getattr(mod, "Hub")  # noqa: B009
        except AttributeError:
            raise TypeError(f"use_hub() needs a hub module with a Hub class, not {mod!r}") from None
    if isinstance(mod, type) and issubclass(mod, Hub):
        fixed: str | None = getattr(mod, "poller_name_fixed", None)
        return fixed
    raise TypeError(
        f"greenlane cannot run its green threads on {mod!r}: use_hub() takes one of greenlane's "
        f"hubs (epolls, poll, selects, asyncio: a name, the module or its Hub class)"
    )


def get_default_hub() -> ModuleType:
    """eventlet's: the hub module greenlane picks by default (``hubs.epolls``, ``poll`` or ``selects``)."""
    for name, syscall in (("epolls", "epoll"), ("poll", "poll"), ("selects", "select")):
        if hasattr(select, syscall):
            return importlib.import_module(f"{__name__}.{name}")
    raise RuntimeError("no poller available: select has neither epoll, poll nor select")


def get_hub() -> Hub:
    """The calling OS thread's hub, created on first use."""
    hub = _core.get_hub()
    assert isinstance(hub, Hub), f"a hub made before greenlane.hubs installed its class: {hub!r}"
    return hub


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


def notify_opened(fd: int | _HasFileno) -> None:
    """eventlet's: ``fd`` was just returned by an open call; stale waiters on its number get ``IOClosed``."""
    get_hub().notify_close(_fileno(fd))
