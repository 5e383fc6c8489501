"""The core's hooks for the layers above: observers, the timer wrapper, a thread's hub choice and reset.

``greenlane.debug`` and ``greenlane.testing`` reach into the hub only through
these (and the read-only views ``Hub`` has): nothing above ``_core`` writes a
hub's private field or rebinds a method. Each observer slot holds one
callable or None; while None its cost is one test where it applies (a spawn,
a ``call_later``, a new hub), never per pass.
"""

from __future__ import annotations

from collections.abc import Callable
from types import CodeType
from typing import Any, Protocol

from . import _threadhub
from ._hub import Hub
from ._io import check_io_manager_name
from ._tasks import Task, Workers

__all__ = [
    "Clock",
    "check_hub_idle",
    "frame_role",
    "observe_new_hubs",
    "observe_spawns",
    "reset_thread_hub",
    "set_preferred_poller",
    "wrap_timer_callbacks",
]


class Clock(Protocol):
    """A clock a hub can run on (``set_clock``; ``greenlane.testing.VirtualClock``)."""

    def now(self) -> float:
        """The current time, in seconds."""

    def advance(self, seconds: float) -> None:
        """Move time forward: called when the hub would sleep ``seconds``."""


def frame_role(code: CodeType) -> str | None:
    """What a greenlet whose outermost frame runs ``code`` is: ``"worker"``, ``"hub"`` or None."""
    if code is Workers.work.__code__:
        return "worker"
    if code is Hub._run.__code__:
        return "hub"
    return None


def observe_new_hubs(observer: Callable[[Hub], object] | None) -> None:
    """Call ``observer(hub)`` with every hub created from now on (None: stop); one observer."""
    Hub.on_new = observer


def observe_spawns(observer: Callable[[Task], object] | None) -> None:
    """Call ``observer(task)`` as every green thread is created from now on (None: stop); one observer."""
    Task.on_new = observer


def wrap_timer_callbacks(wrapper: Callable[[Callable[..., Any]], Callable[..., Any]] | None) -> None:
    """Pass every ``call_later`` callback set from now on through ``wrapper`` (None: stop)."""
    Hub.timer_wrapper = wrapper


def set_preferred_poller(name: str | None) -> None:
    """Make this thread's next hubs use I/O manager ``name`` (None: ``GREENLANE_HUB`` or the best)."""
    if name is not None:
        check_io_manager_name(name)
    _threadhub.set_preferred_io(name)


def check_hub_idle() -> None:
    """Raise ``RuntimeError`` if this thread's hub still has work (so it cannot be replaced)."""
    hub = _threadhub.existing_hub()
    if hub is not None and hub.has_work():
        raise RuntimeError(f"cannot replace a hub that still has work: {hub!r}")


def reset_thread_hub() -> None:
    """Drop this thread's hub (it must be idle) so the next ``get_hub()`` makes a new one."""
    check_hub_idle()
    hub = _threadhub.forget_hub()
    if hub is None:
        return
    if getattr(hub.root, "rec", None) is not None:
        delattr(hub.root, "rec")
    hub.close()
