"""Cooperative ``signal``: Python signal handlers run as green threads, promptly.

CPython runs a Python signal handler in the main OS thread at the next
bytecode boundary, in whatever greenlet is running there. Under green threads
that may be the hub (asleep in its poll) or some unrelated green thread, and
a handler that takes a lock or sleeps would then block the hub itself, or
raise its ``KeyboardInterrupt`` in the wrong green thread. So a handler
installed through this module is wrapped in a small trampoline:

- in the main green thread, the handler simply runs (the stdlib's behaviour,
  exceptions included);
- anywhere else, the handler is started in a green thread of its own, and an
  exception it raises (``KeyboardInterrupt``, ``SystemExit``, or the alarm
  exception of an ``alarm``-based timeout) is thrown into the main green
  thread, where the stdlib would have raised it;
- the default ``SIGINT`` handler throws ``KeyboardInterrupt`` into the main
  green thread straight away.

The hub's wake-up pipe is also the interpreter's signal wake-up fd, so a
signal that arrives while every green thread is parked wakes the poll and the
handler runs at once. A signal whose Python handler is installed counts as
possible work for the deadlock check (``_core._wakers``); the wrapped default
``SIGINT`` handler does not (``wakes_hub = False``), as before patching.
"""

from __future__ import annotations

import signal as _std
from collections.abc import Callable
from types import FrameType
from typing import Any, Final

from greenlet import getcurrent as _getcurrent

from .._core import get_hub, is_main_thread
from .._core import get_ident as _os_get_ident
from ..greenthread import spawn_n

__implements__: Final = ("signal", "getsignal")

Handler = Callable[[int, FrameType | None], Any] | int | _std.Handlers | None

_std_signal: Final = _std.signal
_std_getsignal: Final = _std.getsignal

# signum -> the handler the application installed (what getsignal reports).
_handlers: dict[int, Any] = {}


def __getattr__(name: str) -> Any:
    """Everything greenlane does not replace is the stdlib's own."""
    return getattr(_std, name)


def _throw_to_main(exc: BaseException) -> None:
    hub = get_hub()
    hub.throw(hub.root, exc, front=True)


def _from_handler(callback: Callable[..., Any], *args: Any) -> None:
    """Run ``callback(*args)`` now, from a Python signal handler, and make sure the hub sees it.

    The handler may run inside the hub itself, at any bytecode boundary: after
    the hub last looked at its queues and before its poll sleeps, with the
    signal's wake-up byte already drained. What ``callback`` queues would then
    wait out the whole poll (a Ctrl-C seen 30 s late). So the hub is also
    poked with ``call_soon_threadsafe``: it checks for that after setting its
    polling flag, and the call writes a byte while the hub polls.
    """
    callback(*args)
    get_hub().call_soon_threadsafe(_nothing)


def _nothing() -> None:
    """The poke of ``_from_handler``: its arrival is all that matters."""


def _run_handler(
    handler: Callable[[int, FrameType | None], Any], signum: int, frame: FrameType | None
) -> None:
    try:
        handler(signum, frame)
    except BaseException as exc:  # raised where the stdlib raises it: in the main green thread
        _throw_to_main(exc)


def _in_main_green_thread() -> bool | None:
    """True in the main OS thread's root greenlet; None when greenlet is finalizing."""
    try:
        return _getcurrent().parent is None
    except RuntimeError:
        return None


def _trampoline(signum: int, frame: FrameType | None) -> None:
    handler = _handlers.get(signum)
    if not callable(handler):
        return
    in_main = _in_main_green_thread()
    if in_main is None or in_main:
        handler(signum, frame)
    else:
        _from_handler(spawn_n, _run_handler, handler, signum, frame)


def _interrupt_main(signum: int, frame: FrameType | None) -> None:
    in_main = _in_main_green_thread()
    if in_main is None or in_main:
        raise KeyboardInterrupt
    _from_handler(_throw_to_main, KeyboardInterrupt())


_interrupt_main.wakes_hub = False  # type: ignore[attr-defined]  # see _core._wakers


def signal(signalnum: int, handler: Handler, /) -> Handler:
    """Install ``handler`` for ``signalnum`` (``signal.signal``); it will run as described above.

    Returns the previous handler, as the application installed it.
    """
    previous = getsignal(signalnum)
    if callable(handler):
        if not is_main_thread(_os_get_ident()):
            _std_signal(signalnum, handler)  # raises the stdlib's ValueError
        wrapper = _interrupt_main if handler is _std.default_int_handler else _trampoline
        _std_signal(signalnum, wrapper)
        _handlers[int(signalnum)] = handler
    else:
        _std_signal(signalnum, handler)
        _handlers.pop(int(signalnum), None)
    return previous


def getsignal(signalnum: int, /) -> Handler:
    """The handler for ``signalnum`` as the application installed it (``signal.getsignal``)."""
    current = _std_getsignal(signalnum)
    if current is _trampoline or current is _interrupt_main:
        return _handlers.get(int(signalnum), current)  # type: ignore[no-any-return]
    return current


def _after_patch() -> None:
    """Wrap the Python handlers installed before patching (``SIGINT``'s default one included)."""
    if not is_main_thread(_os_get_ident()):
        return
    for signum in _std.valid_signals():
        try:
            current = _std_getsignal(signum)
        except (OSError, ValueError):
            continue
        if callable(current) and current not in (_trampoline, _interrupt_main):
            try:
                signal(signum, current)
            except (OSError, ValueError, RuntimeError):
                continue

