"""eventlet's ``hubs.asyncio``: the hub that runs on an asyncio event loop.

``use_hub("asyncio")`` (or ``use_hub(hubs.asyncio)``, or ``GREENLANE_HUB=asyncio``)
makes this thread's next hub an asyncio hub; a hub created while an asyncio
loop already runs in the thread (the first greenlane call inside
``asyncio.run(main())``) is one too. Its I/O manager is the core's
``AsyncioIO`` (``greenlane._core._aio``, which explains how the loop runs the
hub); this class adds what a coroutine-side caller needs, and keeps
eventlet's hub calls (it is eventlet's ``Hub`` too).

``isinstance(get_hub(), Hub)`` is True exactly for the hubs whose I/O manager
is asyncio's: this module installs the hub factory that picks the class.
oslo.log's ``pipe_mutex`` asks that question. See ``greenlane.asyncio`` for
crossing between green threads and coroutines.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import _core
from .._core import AsyncioIO, Parked, Task, Timer, asyncio_wanted
from ._eventlet import Hub as EventletHub

__all__ = ["Hub", "is_available"]


def is_available() -> bool:
    """eventlet's check, used by ``use_hub``: asyncio is in the standard library, so always True."""
    return True


class Hub(EventletHub):
    """A hub run by an asyncio event loop: green threads and tasks on one thread, one poller."""

    poller_name_fixed = "asyncio"  # what use_hub(hubs.asyncio.Hub) means
    io: AsyncioIO

    def __init__(self, poller: str | None = None) -> None:
        if poller not in (None, "asyncio"):
            raise ValueError(f"hubs.asyncio.Hub runs on asyncio, not on {poller!r}")
        super().__init__(poller="asyncio")
        self.io.after_init()

    @property
    def loop(self) -> Any:
        """The asyncio event loop this hub runs on."""
        return self.io.loop

    @property
    def attached(self) -> bool:
        """True when the hub runs inside a loop someone else started (``asyncio.run``)."""
        return not self.io.own_loop

    def call_later(self, delay: float, callback: Callable[..., Any], /, *args: Any) -> Timer:
        """Run ``callback(*args)`` in the hub after ``delay`` seconds; returns a cancellable timer."""
        timer = super().call_later(delay, callback, *args)
        self.io.timers_changed()
        return timer

    def record_of_hub_greenlet(self) -> Parked:
        """A green wait in the loop's greenlet: refused naming the fix (fine once asyncio.run returned)."""
        return self.io.record_of_hub_greenlet()

    def start_now(self, task: Task) -> None:
        """Start ``task`` on a worker at once, from the loop's greenlet (a coroutine or a callback)."""
        self.io.start_now(task)


def _make_hub() -> _core.Hub:
    return Hub() if asyncio_wanted() else EventletHub()


_core.set_hub_class(_make_hub)
