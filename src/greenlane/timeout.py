"""eventlet's ``Timeout``: raise an exception in the current green thread after some seconds.

``Timeout`` derives from ``BaseException`` so that ``except Exception:`` in the
code it interrupts cannot swallow it. It starts when created and is raised at
whatever the thread is waiting on when it expires; each ``Timeout`` raises
*itself*, so nested ones are told apart by identity::

    with Timeout(5):               # raises this Timeout after 5 s
        ...
    with Timeout(5, False):        # ...which the with-block then swallows
        ...
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from types import TracebackType
from typing import Any, ParamSpec, TypeVar, cast

from ._core import Parked, Task, Timer, check_timeout, current, get_hub, withdraw_deferred

__all__ = ["Timeout", "is_timeout", "with_timeout", "wrap_is_timeout"]

T = TypeVar("T")
P = ParamSpec("P")


class Timeout(BaseException):
    """Raise ``self`` (or ``exception``) in the creating green thread after ``seconds``.

    ``seconds=None`` never fires. ``exception`` may be an exception class or
    instance to raise instead, or ``False`` to raise ``self`` and have the
    ``with`` block swallow it (any other value raises ``self``, as in
    eventlet). A negative ``seconds`` means already expired
    (fires on the next pass).
    """

    is_timeout = True

    def __init__(self, seconds: float | None = None, exception: Any = None) -> None:
        super().__init__(seconds, exception)
        self.seconds = seconds
        self.exception = exception
        self.timer: Timer | None = None
        # Where our exception waits for the thread's next wait (see _expire), and which it is.
        self._deferred: tuple[Parked, BaseException] | None = None
        if seconds is not None:
            check_timeout(seconds, "Timeout() seconds")
        self.start()

    def start(self) -> Timeout:
        """Start the countdown (done by the constructor); raises if already pending."""
        if self.pending:
            raise RuntimeError(f"{self!r} is already started")
        if self.seconds is not None:
            hub = get_hub()
            target = current()
            if target is hub.greenlet:
                raise RuntimeError("a Timeout cannot be started in the hub greenlet")
            self.timer = hub.call_later(max(0.0, self.seconds), self._expire, target)
        return self

    def _expire(self, target: Any) -> None:
        self.timer = None
        if isinstance(target, Task):
            if target._state != Task.RUNNING or target._glet is None:
                return  # the thread ended without cancelling us
            glet = target._glet
        else:
            glet = target
        exc = self.exception
        if isinstance(exc, type) and issubclass(exc, BaseException):
            exc = exc()
        elif not isinstance(exc, BaseException):
            exc = self  # None, False (swallowed by the with block), or anything else: eventlet's rule
        # Soft: a wait that already succeeded (an item handed over, a put accepted)
        # keeps its result, and ``exc`` is raised at the thread's next wait instead.
        if not get_hub().throw(glet, exc, soft=True):
            self._deferred = (glet.rec, exc)  # type: ignore[attr-defined]

    @property
    def pending(self) -> bool:
        """True while the timeout is counting down."""
        return self.timer is not None and self.timer.pending

    def cancel(self) -> None:
        """Stop the countdown (safe to call repeatedly)."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self._deferred is not None:
            rec, exc = self._deferred
            self._deferred = None
            withdraw_deferred(rec, exc)  # not raised yet: withdrawn with the countdown

    def __enter__(self) -> Timeout:
        if not self.pending and self.seconds is not None and self.timer is None:
            self.start()
        return self

    def __exit__(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        self.cancel()
        return value is self and self.exception is False

    def __str__(self) -> str:
        if self.seconds is None:
            return ""
        unit = "second" if self.seconds == 1 else "seconds"
        if self.exception is None or self.exception is False:
            return f"{self.seconds} {unit}"
        return f"{self.seconds} {unit} ({self.exception!r})"

    def __repr__(self) -> str:
        state = "pending" if self.pending else "inactive"
        extra = "" if self.exception is None else f" exception={self.exception!r}"
        return f"<Timeout seconds={self.seconds} {state}{extra}>"

    def __reduce__(self) -> Any:  # BaseException pickles args; a Timeout must not restart on load
        return (type(self), (None, self.exception))


_NO_VALUE: Any = object()


def with_timeout(seconds: float | None, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Call ``fn(*args, **kwargs)`` with a ``Timeout``; keyword ``timeout_value`` is returned on expiry."""
    timeout_value = kwargs.pop("timeout_value", _NO_VALUE)
    timeout = Timeout(seconds)
    try:
        return fn(*args, **kwargs)
    except Timeout as exc:
        if exc is timeout and timeout_value is not _NO_VALUE:
            return cast(T, timeout_value)
        raise
    finally:
        timeout.cancel()


def is_timeout(obj: object) -> bool:
    """True for a ``Timeout``, ``TimeoutError`` (``socket.timeout``) or anything with ``is_timeout``."""
    return bool(getattr(obj, "is_timeout", False)) or isinstance(obj, TimeoutError)


def wrap_is_timeout(base: Callable[P, T]) -> Callable[P, T]:
    """Mark what ``base`` makes as a timeout for ``is_timeout`` (eventlet's decorator).

    A class gets a read-only ``is_timeout`` property that is True and is
    returned itself; any other callable is wrapped so that the object it
    returns gets ``is_timeout = True``.
    """
    if inspect.isclass(base):
        base.is_timeout = property(lambda _self: True)  # type: ignore[attr-defined]
        return cast("Callable[P, T]", base)

    @functools.wraps(base)
    def marked(*args: P.args, **kwargs: P.kwargs) -> T:
        made = base(*args, **kwargs)
        made.is_timeout = True  # type: ignore[attr-defined]
        return made

    return marked
