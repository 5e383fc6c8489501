"""eventlet's ``Event``: a one-shot result (or exception) that any number of green threads wait for.

Not the ``threading.Event`` (set/clear/is_set): that one lives in
``greenlane.green.threading``. Waiters wake in the order they started waiting.
"""

from __future__ import annotations

from collections import deque
from types import TracebackType
from typing import Any, Generic, TypeVar, overload

from ._core import TIMED_OUT, Owned, Parked, check_timeout, get_ident, park, wake_all
from ._native import wait_from_native

__all__ = ["AlreadySentError", "Event"]

T = TypeVar("T")
D = TypeVar("D")


class AlreadySentError(RuntimeError, AssertionError):
    """``send()`` on an Event that already has a result (eventlet raised AssertionError)."""


class _NotSent:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NOT_SENT"


_NOT_SENT: Any = _NotSent()


class Event(Owned, Generic[T]):
    """A value sent once, waited for by many; ``reset()`` makes it reusable.

    Another OS thread (a native one included) may ``send`` it: the send runs in
    the thread of the green threads waiting on it. A native thread may also
    ``wait`` on it (see ``greenlane._core._owner``).
    """

    __slots__ = ("_exc", "_result", "_waiters")

    def __init__(self) -> None:
        Owned.__init__(self)
        self._result: Any = _NOT_SENT
        self._exc: BaseException | None = None
        self._waiters: deque[Parked] = deque()

    def ready(self) -> bool:
        """True once a result or exception has been sent."""
        return self._result is not _NOT_SENT

    def has_exception(self) -> bool:
        """True if an exception was sent."""
        return self._exc is not None

    def has_result(self) -> bool:
        """True if a plain result (not an exception) was sent."""
        return self._result is not _NOT_SENT and self._exc is None

    @overload
    def poll(self) -> T | None: ...
    @overload
    def poll(self, notready: D) -> T | D: ...
    def poll(self, notready: Any = None) -> Any:
        """The sent value without waiting, or ``notready`` if none yet (raises a sent exception)."""
        if self._result is _NOT_SENT:
            return notready
        return self.wait()

    def poll_exception(self, notready: Any = None) -> Any:
        """Raise the sent exception if one was sent; else ``notready`` (a sent result too). eventlet's."""
        if self._exc is not None:
            return self.wait()
        return notready

    def poll_result(self, notready: Any = None) -> Any:
        """The sent result if a plain result was sent; else ``notready`` (nothing raised). eventlet's."""
        if self._result is not _NOT_SENT and self._exc is None:
            return self._result
        return notready

    def wait(self, timeout: float | None = None) -> T:
        """Wait for the value and return it (raising a sent exception); None after ``timeout``.

        A ``timeout`` of 0 or less does not wait.
        """
        if timeout is not None and not (timeout.__class__ is float and timeout >= 0.0):
            timeout = check_timeout(timeout, "Event.wait() timeout")  # not an in-range float
        if self._result is not _NOT_SENT:
            result, exc = self._result, self._exc
        elif self._owner_ident == get_ident():  # the hot case first: one check
            got = park("event", timeout, self._waiters)
            if got is TIMED_OUT:
                return None  # type: ignore[return-value]  # eventlet's contract
            result, exc = got  # as sent, even if reset() ran since
        elif self._claim("Event.wait") is None:
            return wait_from_native(self._owner, "Event.wait", lambda: self.wait(timeout), None)
        elif self._result is not _NOT_SENT:  # sent by a native thread while we claimed it
            result, exc = self._result, self._exc
        else:
            got = park("event", timeout, self._waiters)
            if got is TIMED_OUT:
                return None  # type: ignore[return-value]  # eventlet's contract
            result, exc = got  # as sent, even if reset() ran since
        if exc is not None:
            raise exc
        return result  # type: ignore[no-any-return]

    def send(self, result: T | None = None, exc: Any = None) -> None:
        """Give every waiter ``result`` (or raise ``exc`` in them); a second send raises.

        From another OS thread the send is handed to the waiters' thread and
        returns at once (a second send is then reported there, not raised here).
        """
        if self._owner_ident != get_ident() and self._elsewhere(self._send, result, exc):
            return
        if self._result is not _NOT_SENT or exc is not None:
            self._send(result, exc)  # the checks and conversions; below, the hot case inlined
            return
        if self._waiters:
            wake_all(self._waiters, (result, None))
        self._result = result

    def _send(self, result: T | None, exc: Any) -> None:
        if self._result is not _NOT_SENT:
            raise AlreadySentError(f"{self!r} was already sent; reset() it first")
        if exc is not None:
            exc = _as_exception(exc)
        wake_all(self._waiters, (result, exc))
        self._result = result
        self._exc = exc

    def send_exception(
        self, exc: Any, value: Any = None, tb: TracebackType | None = None
    ) -> None:
        """Make every waiter raise: an exception instance, class, or (type, value, tb)."""
        self.send(None, (exc, value, tb) if isinstance(exc, type) else exc)

    def reset(self) -> None:
        """Forget the sent value so the event can be sent again (waiters keep waiting)."""
        self._result = _NOT_SENT
        self._exc = None

    def __repr__(self) -> str:
        if self._exc is not None:
            state = f"exception={type(self._exc).__name__}"
        elif self._result is not _NOT_SENT:
            state = f"result={self._result!r:.40}"
        else:
            state = "unset"
        return f"<Event {state} waiters={len(self._waiters)}>"


def _as_exception(exc: Any) -> BaseException | None:
    if exc is None or isinstance(exc, BaseException):
        return exc
    if isinstance(exc, type) and issubclass(exc, BaseException):
        return exc()
    if isinstance(exc, tuple) and exc and isinstance(exc[0], type):
        typ, value, tb = (*exc, None, None)[:3]
        inst = value if isinstance(value, BaseException) else typ() if value is None else typ(value)
        return inst.with_traceback(tb) if tb is not None else inst
    raise TypeError(f"Event.send(exc=...) needs an exception, class or tuple, not {exc!r}")
