"""The green-thread dump: every live green thread of a hub, what it waits on, and its stack.

The hub keeps no list of its green threads (a list would cost on every spawn
and exit), so the dump finds them the way gevent's ``format_run_info`` does:
by walking the garbage collector's objects for greenlets whose parking record
belongs to the hub. That is slow (milliseconds per 100k objects) and fine for
a dump; nothing here runs unless asked.

What a green thread waits on comes from its ``Parked`` record: the park
``reason`` (``"event"``, ``"queue get"``, ``"fd 7"``, ``"tpool"``...), the fd
it watches, its timer's deadline, and ``since``, the hub's pass-start time
when it parked (the hub reads the clock once per pass, never per park, so
"for how long" is exact to within the pass it parked in).
"""

from __future__ import annotations

import gc
import os
import sys
import traceback
import weakref
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Any, Final

from greenlet import getcurrent, greenlet

from .._core import (
    ABORTED,
    PARKED,
    READ,
    RUNNING,
    TIMED_OUT_STATE,
    WOKEN,
    WRITE,
    Hub,
    Parked,
    Task,
    frame_role,
    get_ident,
    monotonic,
)

__all__ = [
    "StackedCallback",
    "format_hub",
    "format_hub_listeners",
    "format_hub_timers",
    "format_stack",
    "format_threads_info",
    "green_threads",
    "spawn_stacks",
]

_PACKAGE: Final = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Frames of these files at the top of a parked stack are the parking machinery...
_INNER_NOISE: Final = (os.path.join(_PACKAGE, "_core", ""), os.path.join(_PACKAGE, "debug", ""))
# ...and at its bottom the worker loop and the task wrapper that called the user's function.
_OUTER_NOISE: Final = (os.path.join(_PACKAGE, "_core", ""), os.path.join(_PACKAGE, "greenthread.py"))

# Timers listed before "... and N more": a dump must stay readable with 100k sleepers.
MAX_TIMERS_SHOWN: Final = 50
# Frames kept of a recorded spawn or timer-creation stack.
RECORDED_STACK_LIMIT: Final = 12

# Where each task was spawned, when spawn stacks are recorded (greenlane.debug.spawn_stacks).
spawn_stacks: weakref.WeakKeyDictionary[Task, traceback.StackSummary] = weakref.WeakKeyDictionary()


class StackedCallback:
    """A timer callback that remembers where its timer was set (``hub_timer_stacks``)."""

    __slots__ = ("callback", "stack")

    def __init__(self, callback: Callable[..., Any], stack: traceback.StackSummary) -> None:
        self.callback = callback
        self.stack = stack

    def __call__(self, *args: Any) -> Any:
        return self.callback(*args)

    def __repr__(self) -> str:
        return f"<StackedCallback {_callable_name(self.callback)}>"


def record_stack(skip: int) -> traceback.StackSummary:
    """The caller's stack, innermost greenlane frames left out; source lines read only when shown."""
    frame: FrameType | None = sys._getframe(skip + 1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
    stack = traceback.StackSummary.extract(
        traceback.walk_stack(frame), limit=RECORDED_STACK_LIMIT, lookup_lines=False
    )
    stack.reverse()  # walked innermost first; shown outermost first, as tracebacks are
    return stack


def trimmed_stack(frame: FrameType, limit: int | None = None) -> traceback.StackSummary:
    """``frame``'s stack, outermost first, without greenlane's parking and worker frames."""
    stack = traceback.extract_stack(frame, limit=limit)
    while len(stack) > 1 and _is_inner_noise(stack[-1]):
        stack.pop()
    start = 0
    while start < len(stack) - 1 and stack[start].filename.startswith(_OUTER_NOISE):
        start += 1
    return traceback.StackSummary.from_list(stack[start:])


def _is_inner_noise(entry: traceback.FrameSummary) -> bool:
    """The parking machinery and greenlane's private helpers (``socket._wait``...) above the
    public call the green thread made (``Event.wait``, ``socket.recv``), which stays."""
    if entry.filename.startswith(_INNER_NOISE):
        return True
    private = entry.name.startswith("_") and not entry.name.startswith("__")
    return private and entry.filename.startswith(_PACKAGE)


def format_stack(frame: FrameType | None, indent: str = "  ") -> str:
    """``trimmed_stack(frame)`` as text, each line indented by ``indent``."""
    if frame is None:
        return f"{indent}  (no Python frame)\n"
    return _indent(trimmed_stack(frame).format(), indent)


def _indent(lines: Iterable[str], indent: str) -> str:
    return "".join(indent + line.replace("\n", "\n" + indent).rstrip(" ") for line in lines)


def _callable_name(fn: object) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)


def green_threads(hub: Hub) -> list[greenlet]:
    """The live greenlets of ``hub``'s thread: its main one first, then every started green thread."""
    found: list[greenlet] = [hub.root]
    for obj in gc.get_objects():
        # type(), not isinstance(): a weakref.proxy whose referent died (some libraries
        # leave them in gc's list) raises ReferenceError on __class__.
        if not issubclass(type(obj), greenlet) or obj is hub.root or obj is hub.greenlet or obj.dead:
            continue
        if frame_role(_outermost(obj)) == "worker":
            if obj.task is None or obj.rec.hub is not hub:  # idle, or another hub's
                continue
        else:
            rec: Parked | None = getattr(obj, "rec", None)
            if rec is not None:
                if rec.hub is not hub:
                    continue
            elif not obj or _root_of(obj) is not hub.root or _is_a_hub(obj):
                continue  # not started, another thread's, or an old hub of this thread
        found.append(obj)
    return found


def _outermost(glet: greenlet) -> Any:
    """The code of ``glet``'s outermost frame (its run function's), or None if it has no frame."""
    frame = glet.gr_frame
    while frame is not None and frame.f_back is not None:
        frame = frame.f_back
    return None if frame is None else frame.f_code


def _is_a_hub(glet: greenlet) -> bool:
    return frame_role(_outermost(glet)) == "hub"


def _root_of(glet: greenlet) -> greenlet:
    while glet.parent is not None:
        glet = glet.parent
    return glet


def name_of(glet: greenlet, hub: Hub) -> str:
    """How a dump names a green thread: its ``GreenThread`` (or spawn_n task), else what it is."""
    if glet is hub.root:
        return "main green thread"
    if glet is hub.greenlet:
        return "the hub"
    task = getattr(glet, "task", None)
    return repr(task) if task is not None else repr(glet)


def state_of(glet: greenlet, hub: Hub, now: float, current: greenlet) -> str:
    """One line: running, ready, or waiting on what, since when, until when."""
    if glet is current:
        if hub.ident != get_ident():
            return "running (in its own OS thread)"
        return "running (it is taking this dump)"
    rec: Parked | None = getattr(glet, "rec", None)
    if rec is None or rec.hub is not hub:
        return "suspended outside the hub (a raw greenlet switch)"
    if rec.state == PARKED:
        parts = [f"waiting on {rec.reason or 'something'}"]
        if rec.fd >= 0 and f"fd {rec.fd}" not in rec.reason:
            how = "/".join(k for k, bit in (("read", READ), ("write", WRITE)) if rec.events & bit)
            parts.append(f"(fd {rec.fd}, {how})")
        if rec.since:
            parts.append(f"for {max(0.0, now - rec.since):.3f} s")
        if rec.timer is not None and rec.timer[0] is not None:  # a timer entry's deadline
            parts.append(f"(times out in {rec.timer[0] - hub.clock():.3f} s)")
        return " ".join(parts)
    if rec.state == WOKEN:
        return "ready (resumes on the hub's next pass)" if rec.pending is None else (
            f"ready, being killed with {type(rec.pending).__name__}"
        )
    if rec.state == TIMED_OUT_STATE:
        return f"ready (its wait on {rec.reason} timed out)"
    if rec.state == ABORTED:
        return f"ready, being killed with {type(rec.value).__name__}"
    assert rec.state == RUNNING
    return "suspended outside the hub (a raw greenlet switch)"


def _order(glet: greenlet, current: greenlet) -> tuple[int, float]:
    if glet is current:
        return (0, 0.0)
    rec: Parked | None = getattr(glet, "rec", None)
    if rec is None or rec.state == RUNNING:
        return (3, 0.0)
    if rec.state == PARKED:
        return (2, rec.since)  # longest waiting first
    return (1, 0.0)


def format_hub(hub: Hub, frame: FrameType | None = None) -> str:
    """The whole dump of ``hub`` (see ``greenlane.debug.format_greenthreads``)."""
    now = monotonic()
    current = getcurrent()
    stats = hub.statistics()
    out = [
        f"greenlane hub of thread {hub.ident} ({hub.poller_name}): {stats.green_threads} green "
        f"threads, {stats.ready} ready, {stats.timers} timers, {stats.readers} readers, "
        f"{stats.writers} writers\n",
        f"  up {stats.uptime:.3f} s: polling {stats.poll_time:.3f} s, running {stats.run_time:.3f} s; "
        f"longest pass {stats.longest_pass * 1000:.3f} ms; {stats.switches} switches "
        f"({stats.switches_per_second:.0f}/s) in {stats.passes} passes\n",
    ]
    if hub.ident != get_ident():
        # Another OS thread's hub: its running green thread is the one without a
        # saved frame, and that thread's current frame is its stack. The tables
        # are read while that thread may change them: a section may come out
        # incomplete (never wrong about what it does show).
        elsewhere = sys._current_frames().get(hub.ident)
        if frame is None:
            frame = elsewhere
        current = next((g for g in green_threads(hub) if g.gr_frame is None and g), hub.greenlet)
    threads = sorted(green_threads(hub), key=lambda g: _order(g, current))
    if current is hub.greenlet:
        threads.insert(0, current)
    for glet in threads:
        out.append(f"\n{name_of(glet, hub)}: {state_of(glet, hub, now, current)}\n")
        here = frame if glet is current else glet.gr_frame
        if glet is current and here is None:
            here = sys._getframe(1)
        out.append(format_stack(here))
        task = getattr(glet, "task", None)
        spawned = spawn_stacks.get(task) if task is not None else None
        if spawned is not None:
            out.append("  spawned at:\n" + _indent(spawned.format(), "  "))
    queued = hub.queued_tasks()
    for task in queued:
        if task._state == Task.QUEUED:
            out.append(f"\n{task!r}: queued, not started yet\n")
            spawned = spawn_stacks.get(task)
            if spawned is not None:
                out.append("  spawned at:\n" + _indent(spawned.format(), "  "))
    for section in (format_timers, format_listeners):
        try:
            out.append(("\n" if section is format_timers else "") + section(hub))
        except (RuntimeError, KeyError):  # changed by its own thread while being read
            out.append(f"\n({section.__name__}: changed while being read; ask again)\n")
    return "".join(out)


def format_timers(hub: Hub) -> str:
    """The hub's pending timers, earliest first, each with what it will do."""
    entries = hub.timer_entries()
    out = [f"timers ({len(entries)}):\n"]
    clock = hub.clock()
    for entry in entries[:MAX_TIMERS_SHOWN]:
        action = _timer_action(hub, entry.callback, entry.args, entry.parked)
        out.append(f"  in {entry.when - clock:.3f} s: {action}\n")
        callback = entry.callback
        if isinstance(callback, StackedCallback):
            out.append("    set at:\n" + _indent(callback.stack.format(), "    "))
    if len(entries) > MAX_TIMERS_SHOWN:
        out.append(f"  ... and {len(entries) - MAX_TIMERS_SHOWN} more\n")
    return "".join(out)


def _timer_action(hub: Hub, callback: Any, args: tuple[Any, ...], rec: Parked | None) -> str:
    if isinstance(callback, StackedCallback):
        callback = callback.callback
    func = getattr(callback, "__func__", None)
    if rec is not None:
        return f"timeout of {name_of(rec.glet, hub)} waiting on {rec.reason}"
    if func is Hub.start_task and args:
        return f"start {args[0]!r}"
    shown = ", ".join(_short_repr(a) for a in args)
    return f"{_callable_name(callback)}({shown})"


def _short_repr(value: object, limit: int = 60) -> str:
    try:
        text = repr(value)
    except Exception as exc:  # a broken repr must not break the dump
        text = f"<repr failed: {type(exc).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def format_listeners(hub: Hub) -> str:
    """The green threads waiting on fds: readers, then writers."""
    now = monotonic()
    out = []
    for title, bit in (("readers", READ), ("writers", WRITE)):
        waiters = sorted(hub.fd_waiters(bit), key=lambda rec: rec.fd)  # stable: line order kept
        out.append(f"{title} ({len(waiters)}):\n")
        for rec in waiters:
            waited = f" for {max(0.0, now - rec.since):.3f} s" if rec.since else ""
            out.append(f"  fd {rec.fd}: {name_of(rec.glet, hub)}, waiting on {rec.reason}{waited}\n")
    return "".join(out)


def format_hub_listeners(hub: Hub) -> str:
    """eventlet's ``format_hub_listeners``: the fd waits of ``hub``."""
    return format_listeners(hub)


def format_hub_timers(hub: Hub) -> str:
    """eventlet's ``format_hub_timers``: the pending timers of ``hub``."""
    return format_timers(hub)


def format_threads_info() -> str:
    """Every native thread of the process with its current stack (eventlet's ``format_threads_info``)."""
    names: dict[int, str] = {}
    threading = sys.modules.get("threading")
    if threading is not None:
        for thread in threading.enumerate():
            if thread.ident is not None:
                names[thread.ident] = thread.name
    out = []
    me = get_ident()
    for ident, frame in sys._current_frames().items():
        label = names.get(ident, "(not started by threading)")
        mine = " (this thread)" if ident == me else ""
        out.append(f"thread {ident} {label}{mine}:\n")
        out.append(format_stack(frame if ident != me else sys._getframe(1)))
    return "".join(out)
