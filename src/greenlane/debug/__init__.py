"""Seeing inside a live service: blocking detector, green-thread dump, eventlet's debug toggles.

- ``hub_blocking_detection(True, resolution)`` (or ``GREENLANE_MAX_BLOCKING_TIME``):
  a native monitor thread logs, to logger ``greenlane.debug``, the stack of any
  green thread that keeps its hub from switching for ``resolution`` seconds,
  without interrupting it (see ``_blocking``). Off, it costs nothing.
- ``format_greenthreads()`` / ``print_greenthreads()``: every live green thread
  of the calling thread's hub, running, ready or waiting on what (the park
  reason: fd, sleep, event, lock, queue, pool, tpool...) and for how long, with
  its stack; then the hub's timers, readers and writers.
  ``install_dump_signal(signal.SIGUSR1)`` prints that to stderr on a signal.
- ``spawn_stacks(True)`` also records where each green thread was spawned
  (costly: a stack walk per spawn; off by default, and then free).
- eventlet's toggles: ``hub_timer_stacks``, ``hub_prevent_multiple_readers``,
  ``hub_exceptions`` and ``spew``/``unspew`` work; ``tpool_exceptions`` and
  ``hub_listener_stacks`` are accepted and change nothing, since greenlane
  already behaves the useful way (see each one's docstring).

The toggles are process-wide debug state (docs/design.md); the blocking
detector watches hubs, one by one.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Any, TextIO

from .._core import (
    Hub,
    Task,
    get_hub,
    observe_new_hubs,
    observe_spawns,
    read_config,
    set_multiple_fd_waiters,
    wrap_timer_callbacks,
)
from . import _dump
from ._blocking import BlockingMonitor, monitor
from ._spew import Spew

__all__ = [
    "BlockingMonitor",
    "Spew",
    "format_greenthreads",
    "format_hub_listeners",
    "format_hub_timers",
    "format_threads_info",
    "hub_blocking_detection",
    "hub_exceptions",
    "hub_listener_stacks",
    "hub_prevent_multiple_readers",
    "hub_timer_stacks",
    "install_dump_signal",
    "print_greenthreads",
    "spawn_stacks",
    "spew",
    "unspew",
]

# eventlet's toggles that change nothing here, remembered so a caller can read them back.
_toggles: dict[str, bool] = {
    "hub_exceptions": True,
    "tpool_exceptions": False,
    "hub_listener_stacks": False,
}


# -- blocking detection -------------------------------------------------------


def hub_blocking_detection(state: bool = False, resolution: float = 1) -> None:
    """Log the stack of any green thread that blocks this thread's hub for ``resolution`` seconds.

    eventlet's signature (and, as there, calling it without arguments turns it
    off). It applies to the calling thread's hub; set
    ``GREENLANE_MAX_BLOCKING_TIME`` to watch every hub from its creation. A
    native monitor thread checks the hub's switch counters a few times per
    ``resolution``; the blocking green thread is named and its stack logged
    once per stall (logger ``greenlane.debug``, WARNING), and it runs on
    undisturbed (eventlet's detector raises inside it instead).
    """
    hub = get_hub()
    if state:
        monitor.watch(hub, resolution)
    else:
        monitor.unwatch(hub)


def _on_new_hub(hub: Hub) -> None:
    """The new-hub observer: watch every new hub when ``GREENLANE_MAX_BLOCKING_TIME`` is set."""
    threshold = read_config().max_blocking_time
    if threshold > 0:
        monitor.watch(hub, threshold)


observe_new_hubs(_on_new_hub)


# -- the dump -----------------------------------------------------------------


def format_greenthreads(hub: Hub | None = None, *, frame: FrameType | None = None) -> str:
    """A report of every live green thread of ``hub`` (default: the calling thread's).

    For each: its name (the ``GreenThread`` repr, or "main green thread"), its
    state (running; ready; or waiting on the park reason, with the fd, for how
    long, and when it times out), its stack, and where it was spawned if
    ``spawn_stacks(True)`` was on then. Then the hub's load, timers, readers and
    writers. ``frame`` is the running green thread's innermost frame when the
    caller is not it (a signal handler passes the frame it interrupted).
    """
    return _dump.format_hub(hub if hub is not None else get_hub(), frame)


def print_greenthreads(hub: Hub | None = None, file: TextIO | None = None) -> None:
    """Write ``format_greenthreads(hub)`` to ``file`` (default: stderr)."""
    (file or sys.stderr).write(format_greenthreads(hub, frame=sys._getframe(1)))


def install_dump_signal(signum: int = signal.SIGUSR1, file: TextIO | None = None) -> Any:
    """On signal ``signum``, write the green-thread dump of the main thread's hub to ``file`` (stderr).

    Call it from the main thread (Python runs signal handlers there). Returns
    the previous handler, so ``signal.signal(signum, previous)`` undoes it.
    The dump runs in whichever green thread the signal interrupted, which it
    marks as running.
    """

    def dump(_signum: int, frame: FrameType | None) -> None:
        (file or sys.stderr).write(format_greenthreads(get_hub(), frame=frame))
        (file or sys.stderr).flush()

    dump.wakes_hub = False  # type: ignore[attr-defined]  # only reports: the deadlock rules may ignore it
    return signal.signal(signum, dump)


def format_hub_listeners(hub: Hub | None = None) -> str:
    """eventlet's name: the green threads waiting on fds (readers, writers) of the hub."""
    return _dump.format_hub_listeners(hub if hub is not None else get_hub())


def format_hub_timers(hub: Hub | None = None) -> str:
    """eventlet's name: the hub's pending timers, earliest first, with what each will do."""
    return _dump.format_hub_timers(hub if hub is not None else get_hub())


def format_threads_info() -> str:
    """eventlet's name: every native thread of the process and its current stack."""
    return _dump.format_threads_info()


# -- recording toggles ----------------------------------------------------------


def _record_spawn(task: Task) -> None:
    _dump.spawn_stacks[task] = _dump.record_stack(2)  # the frame that created the task


def _record_timer(callback: Callable[..., Any]) -> Callable[..., Any]:
    return _dump.StackedCallback(callback, _dump.record_stack(2))  # the frame that called call_later


def spawn_stacks(state: bool = True) -> None:
    """Record where each green thread is spawned from now on; the dump then shows it.

    A stack walk per spawn (gevent pays that always); off, nothing at all is
    added to ``spawn``. Threads started by ``spawn_after`` are recorded where
    ``spawn_after`` was called.
    """
    observe_spawns(_record_spawn if state else None)
    if not state:
        _dump.spawn_stacks.clear()


def hub_timer_stacks(state: bool) -> None:
    """eventlet's toggle: record where each timer set from now on (``call_later``, ``spawn_after``,
    ``schedule_call_*``) was set; ``format_hub_timers`` and the dump then show it.

    Parked threads' timeouts are shown with the waiting thread's own stack instead.
    """
    wrap_timer_callbacks(_record_timer if state else None)


def hub_listener_stacks(state: bool) -> None:
    """eventlet's toggle; always on in greenlane, so this changes nothing.

    Every fd waiter is a parked green thread, and the dump shows its stack.
    """
    _toggles["hub_listener_stacks"] = bool(state)


def hub_exceptions(state: bool) -> None:
    """eventlet's toggle, for the calling thread's hub (``hub.debug_exceptions``).

    The hub logs (logger ``greenlane.hub``) an exception raised by a callback,
    timer or eventlet listener it runs: at ERROR when on (the default), at
    DEBUG when off; never silenced. An exception ending a green thread is not
    the hub's: ``wait()`` raises it (and it is logged if nobody does).
    """
    _toggles["hub_exceptions"] = bool(state)
    get_hub().debug_exceptions = bool(state)


def tpool_exceptions(state: bool) -> None:
    """eventlet's toggle; changes nothing: an exception raised in a ``tpool``
    worker is always re-raised in the calling green thread with its traceback."""
    _toggles["tpool_exceptions"] = bool(state)


def hub_prevent_multiple_readers(state: bool = True) -> None:
    """eventlet's toggle: refuse (True, the default) or allow several green threads waiting on one fd.

    Refused, a second green thread waiting to read (or write) an fd that
    already has one gets ``RuntimeError``: two readers of one socket usually
    mean interleaved requests. Allowed (``False``, as oslo.log's ``PipeMutex``
    asks), they line up: each readiness report wakes the first in line only,
    and when it leaves (woken, timed out, killed) the next one takes its place,
    as in eventlet; closing the fd (``notify_close``) wakes them all with
    ``IOClosed``. Process-wide, as in eventlet.
    """
    set_multiple_fd_waiters(not state)


# -- spew ---------------------------------------------------------------------


def spew(
    trace_names: Iterable[str] | None = None, show_values: bool = False, *, file: TextIO | None = None
) -> None:
    """Print each line the calling thread executes (``sys.settrace``) until ``unspew()``.

    ``trace_names``: only modules whose name starts with one of these;
    ``show_values``: also the locals each line names. Output goes to ``file``
    (default stdout, as eventlet's).
    """
    sys.settrace(Spew(trace_names, show_values, file))


def unspew() -> None:
    """Stop ``spew``: remove the calling thread's trace function unless it is another tool's.

    A tracer that is not a ``Spew`` (a coverage tool, a debugger) stays.
    """
    current = sys.gettrace()
    if current is None or isinstance(current, Spew):
        sys.settrace(None)
