"""eventlet's ``hubs.timer``: a callback to run after some seconds, created first and scheduled later.

``Timer(seconds, cb, *args, **kw)`` does nothing until ``schedule()`` puts it
on the calling thread's hub; it runs ``cb`` at most once, and ``cancel()``
stops it (both idempotent). ``LocalTimer`` is skipped if the green thread that
created it has ended by then. Fields as eventlet's: ``seconds``, ``tpl``
(``(cb, args, kw)``, dropped once called or cancelled), ``called``,
``pending``. ``hub.schedule_call_global``/``schedule_call_local`` remain the
direct way (they return the hub's own timers).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._core import Task, current, get_hub
from .._core import Timer as _HubTimer

__all__ = ["LocalTimer", "Timer"]


class Timer:
    """eventlet's timer: ``cb(*args, **kw)`` ``seconds`` after ``schedule()``."""

    def __init__(self, seconds: float, cb: Callable[..., Any], *args: Any, **kw: Any) -> None:
        if not callable(cb):
            raise TypeError(f"Timer needs a callable, not {cb!r}")
        self.seconds = seconds
        self.tpl: tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]] = (cb, args, kw)
        self.called = False
        self._handle: _HubTimer | None = None

    @property
    def pending(self) -> bool:
        """True until it has been called or cancelled."""
        return not self.called

    def copy(self) -> Timer:
        """A new, unscheduled timer with the same delay and callback."""
        cb, args, kw = self.tpl
        return self.__class__(self.seconds, cb, *args, **kw)

    def schedule(self) -> Timer:
        """Put it on the calling thread's hub, to fire ``seconds`` from now; returns it."""
        self.called = False
        self._handle = get_hub().call_later(self.seconds, self)
        self.scheduled_time = self._handle.when
        return self

    def __call__(self, *args: Any) -> None:
        """Run the callback, once; a cancelled or already-called timer does nothing."""
        if self.called:
            return
        self.called = True
        cb, cb_args, kw = self.tpl
        try:
            cb(*cb_args, **kw)
        finally:
            self.__dict__.pop("tpl", None)

    def cancel(self) -> None:
        """Stop it from firing (no effect once it fired or was cancelled)."""
        if self.called:
            return
        self.called = True
        if self._handle is not None:
            self._handle.cancel()
        self.__dict__.pop("tpl", None)

    def __lt__(self, other: Timer) -> bool:  # eventlet's: any stable order (heaps of timers)
        return id(self) < id(other)

    def __repr__(self) -> str:
        cb, args, kw = self.__dict__.get("tpl", (None, None, None))
        return f"Timer({self.seconds}, {cb}, *{args}, **{kw})"


class LocalTimer(Timer):
    """A ``Timer`` skipped if the green thread that created it has ended when it is due."""

    def __init__(self, seconds: float, cb: Callable[..., Any], *args: Any, **kw: Any) -> None:
        self.greenlet: Any = current()
        super().__init__(seconds, cb, *args, **kw)

    def _owner_alive(self) -> bool:
        owner = self.greenlet
        if owner is None:
            return False
        if isinstance(owner, Task):
            return owner._state != Task.DONE
        return not owner.dead

    @property
    def pending(self) -> bool:
        """True until called or cancelled, and while its green thread lives."""
        return self._owner_alive() and not self.called

    def __call__(self, *args: Any) -> None:
        """Run the callback once, unless its green thread has ended."""
        if self.called:
            return
        if not self._owner_alive():
            self.called = True
            self.__dict__.pop("tpl", None)
            return
        super().__call__(*args)

    def cancel(self) -> None:
        """Stop it from firing, and forget the green thread."""
        self.greenlet = None
        super().cancel()
