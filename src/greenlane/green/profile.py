"""A ``profile`` that follows green threads: each greenlet keeps its own call stack.

The stdlib's ``profile.Profile`` keeps one stack of the frames it saw called
(``self.cur``) per OS thread, and checks that every return matches the frame
on top. With green threads the OS thread keeps switching between greenlets,
each deep in its own calls: the returns stop matching and the stdlib's
profiler fails an assertion. Here every greenlet gets its own stack and its
own timings; a switch is noticed on the next profiling event, the time since
the previous event is charged to the greenlet that was running, and the other
greenlet's stack is resumed (or started, under a made-up ``green thread``
frame). ``create_stats`` unwinds every stack and adds the timings up, so the
report (``print_stats``, ``pstats.Stats``) is the stdlib's.

A greenlet that was already deep in calls when profiling began returns from
frames this profiler never saw called; those returns are ignored.

eventlet's ``green.profile`` has the same interface: ``Profile`` with
``runctx``/``runcall``/``run`` and ``start``/``stop``; the rest of the module
is the stdlib's.
"""

from __future__ import annotations

import profile as _std
import sys
from typing import Any, Final

from greenlet import getcurrent as _getcurrent

__all__ = ["Profile", "run", "runctx"]

_SWITCH_FRAME: Final = "green thread"
# The stdlib class's internals (cur, timings, dispatch, fake_frame) are untyped in typeshed.
_Base: Final[Any] = _std.Profile


class Profile(_Base):  # type: ignore[misc]
    """The stdlib's deterministic profiler, with one call stack per greenlet."""

    # The stdlib's state, set by its __init__: the open calls of the running
    # greenlet, their timings, and the time of the last event.
    cur: Any
    timings: dict[Any, Any]
    t: float

    def __init__(self, timer: Any = None, bias: float | None = None) -> None:
        super().__init__(timer, bias)
        self._glet: Any = _getcurrent()
        self._parked_stacks: dict[Any, tuple[Any, dict[Any, Any]]] = {}
        self._time_of_event = self.get_time
        self.dispatcher = self._green_dispatch

    # -- the dispatcher: the stdlib's trace_dispatch_i, plus the switch ----

    def _green_dispatch(self, frame: Any, event: str, arg: Any) -> None:
        now = self._time_of_event
        t = now() - self.t - self.bias
        if event == "c_call":
            self.c_func_name = arg.__name__
        glet = _getcurrent()
        if glet is not self._glet:
            self._switch_to(glet, t)
            t = 0
        if event in ("return", "c_return", "c_exception") and not self._returns_known_frame(frame):
            self.t = now() - t  # a frame entered before we saw it: nothing to close
            return
        if self.dispatch[event](self, frame, t):
            self.t = now()
        else:
            self.t = now() - t

    def _returns_known_frame(self, frame: Any) -> bool:
        top = self.cur[-2]
        if isinstance(top, _Base.fake_frame):
            return False
        return frame is top or frame is top.f_back

    def _switch_to(self, glet: Any, t: float) -> None:
        cur = self.cur
        if cur is not None:
            pt, it, et, fn, frame, rcur = cur
            cur = (pt, it + t, et, fn, frame, rcur)  # the time so far was the old greenlet's
        self._parked_stacks[self._glet] = (cur, self.timings)
        self._glet = glet
        try:
            self.cur, self.timings = self._parked_stacks.pop(glet)
        except KeyError:
            self.cur, self.timings = None, {}
            self.simulate_call(_SWITCH_FRAME)

    # -- reporting: every greenlet's stack unwound and added up ------------

    def create_stats(self) -> None:
        """Close every greenlet's open calls, add their timings up, then build the stdlib's stats."""
        self.simulate_cmd_complete()
        parked, self._parked_stacks = self._parked_stacks, {}
        mine_cur, mine = self.cur, self.timings
        for cur, timings in parked.values():
            if cur is None:
                continue
            self.cur, self.timings = cur, timings
            self.simulate_cmd_complete()
            _add_timings(mine, timings)
        self.cur, self.timings = mine_cur, mine
        self.snapshot_stats()

    # -- eventlet's start/stop ----------------------------------------------

    def start(self, name: str = "start") -> None:
        """Start profiling the calling OS thread (all its greenlets) until ``stop``."""
        if getattr(self, "_running", False):
            return
        self._running = True
        self._glet = _getcurrent()
        self.simulate_call(name)
        sys.setprofile(self.dispatcher)

    def stop(self) -> None:
        """Stop profiling; ``print_stats`` and ``dump_stats`` then report what was seen."""
        sys.setprofile(None)
        self._running = False


def _add_timings(into: dict[Any, Any], more: dict[Any, Any]) -> None:
    for fn, (cc, ns, tt, ct, callers) in more.items():
        if fn not in into:
            into[fn] = (cc, ns, tt, ct, dict(callers))
            continue
        icc, ins, itt, ict, icallers = into[fn]
        for caller, count in callers.items():
            icallers[caller] = icallers.get(caller, 0) + count
        into[fn] = (icc + cc, ins, itt + tt, ict + ct, icallers)


def run(statement: str, filename: str | None = None, sort: int | str = -1) -> None:
    """The stdlib's ``profile.run`` with the green ``Profile``."""
    _Utils(Profile).run(statement, filename, sort)


def runctx(
    statement: str,
    globals: dict[str, Any],
    locals: dict[str, Any],
    filename: str | None = None,
    sort: int | str = -1,
) -> None:
    """The stdlib's ``profile.runctx`` with the green ``Profile``."""
    _Utils(Profile).runctx(statement, globals, locals, filename, sort)


_Utils: Final[Any] = getattr(_std, "_Utils")  # noqa: B009 - private, untyped


def __getattr__(name: str) -> Any:
    """The rest is the stdlib's ``profile`` module."""
    return getattr(_std, name)
