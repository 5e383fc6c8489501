"""Which hub an OS thread has: one per thread, created on first use, found fast.

The thread-local slot lives here, below the hub module, so that the parking
state machine and the ownership rules can find "this thread's hub" without
importing the hub (which imports them). ``_hub`` installs the hub class at
import (``set_hub_class``), the one way new hubs are made.

``existing_hub()`` answers "has this thread a hub?" without making one: what
native-thread checks (tpool, green ``time.sleep`` from a plain thread,
primitives' owner rules) need.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from greenlet import getcurrent as _getcurrent

from ._config import read_config
from ._stdlib import thread_local

if TYPE_CHECKING:
    from ._hub import Hub

__all__ = ["current_hub", "existing_hub", "forget_hub", "get_hub", "preferred_io", "set_hub_class"]

_tls = thread_local()
_make_hub: list[Callable[[], Hub]] = []


def set_hub_class(factory: Callable[[], Hub]) -> None:
    """Install how ``get_hub`` makes a thread's hub: ``_hub`` installs ``Hub`` at import, and a
    layer above may install a subclass (``greenlane.hubs`` installs eventlet's, before any hub exists)."""
    _make_hub[:] = [factory]


def get_hub() -> Hub:
    """The calling OS thread's hub, created on first use."""
    try:
        return _tls.hub  # type: ignore[no-any-return]
    except AttributeError:
        hub = _tls.hub = _make_hub[0]()
        return hub


def existing_hub() -> Hub | None:
    """The calling OS thread's hub if it has one (None: it never used one, or dropped it)."""
    return getattr(_tls, "hub", None)


def current_hub() -> Hub:
    """The calling thread's hub, found through the current greenlet when it can be (faster)."""
    try:
        hub: Hub = _getcurrent().rec.hub  # type: ignore[attr-defined]
    except AttributeError:
        return get_hub()
    return get_hub() if hub.closed else hub  # a record left from a replaced hub


def forget_hub() -> Hub | None:
    """Drop the calling thread's hub slot; returns the hub it held."""
    hub: Hub | None = getattr(_tls, "hub", None)
    if hub is not None:
        del _tls.hub
    return hub



def preferred_io() -> str | None:
    """The I/O manager this thread's next hub uses: ``use_hub``'s choice, else ``GREENLANE_HUB``."""
    return getattr(_tls, "poller", None) or read_config().hub


def set_preferred_io(name: str | None) -> None:
    """Record ``use_hub``'s choice for this thread (validated by the caller)."""
    _tls.poller = name
