"""The blocking detector: a native thread that notices a hub that stopped switching.

eventlet arms ``SIGALRM`` at every hub switch and raises inside whatever runs
too long: that costs two syscalls per switch, works in the main thread only,
and breaks the culprit. greenlane's detector instead *watches* from one native
monitor thread (started on the first ``watch``, gone when nothing is watched)
and adds nothing to the hub's hot path, on or off:

- The hub already counts what it does (``_switches``, ``_passes``) and sets
  ``_polling`` while it sleeps in its poller. Each tick the monitor reads
  those; counters that moved, or a hub asleep in its poller, mean progress.
  Counters are only read here, never written, so no lock is needed (plain
  attribute reads are atomic under the GIL).
- A green thread may hand off to the next directly without the counters
  moving (within a pass); so while the counters stand still, the monitor also
  compares the *bottom* frame of the hub thread's running stack
  (``sys._current_frames()``): each green thread's stack ends at its own
  greenlet's first frame, so a different bottom frame means a different green
  thread runs, which is progress too.
- A stall is reported once it has *provably* lasted the threshold: the
  counters read the same at two ticks that far apart (a monitor that
  oversleeps measures more of the same stall, never a stall that was not
  there). Nobody is reported for a hub with no work at all (no green thread,
  timer, fd wait or queued call): then nothing was kept waiting.
- The report names the green thread and logs its current stack, read from
  the hub thread's running frame, and does not interrupt it. When the hub
  moves again a second line says for how long it was stuck.
- A thread stuck *inside C code* has no frame of its own there: its
  innermost Python frame stands on a call instruction. The report then
  quotes that call's source (``q.get()``, ``lock.acquire()``) and says that C
  code cannot switch: that is how a C-level blocking object still reachable
  under patching shows up (a ``_thread`` lock or ``queue.SimpleQueue`` made
  before ``monkey_patch()`` that could not be swapped, a C extension's own
  blocking call).

Process-wide state (listed in docs/design.md): the one ``BlockingMonitor``,
its thread, and the hubs it watches (weakly); reset in a forked child.
"""

from __future__ import annotations

import dis
import linecache
import logging
import os
import sys
import weakref
from dataclasses import dataclass
from types import CodeType, FrameType
from typing import Final

from .._core import (
    Hub,
    allocate_lock,
    existing_hub,
    frame_role,
    monotonic,
    os_sleep,
    quiet_threads,
    start_new_thread,
)
from ._dump import trimmed_stack

__all__ = ["BlockingMonitor", "monitor"]

log = logging.getLogger("greenlane.debug")

# Ticks per threshold: a stall is reported at most a quarter threshold late.
TICKS_PER_THRESHOLD: Final = 4
# Never tick faster than this (a tiny threshold must not turn the monitor into a spinner)...
MIN_TICK: Final = 0.005
# ...nor slower (a new, smaller threshold is picked up within this).
MAX_TICK: Final = 0.25
# Frames shown in a report: the interesting ones are the innermost.
STACK_LIMIT: Final = 40
# Instructions that call (CPython 3.11 to 3.14): a frame stopped on one is running its callee.
_CALL_OPS: Final = frozenset(
    name for name in ("CALL", "PRECALL", "CALL_FUNCTION_EX", "CALL_KW", "CALL_FUNCTION", "CALL_METHOD")
    if name in dis.opmap
)


@dataclass(slots=True)
class _Watch:
    """What the monitor knows about one hub."""

    hub: weakref.ref[Hub]
    threshold: float
    mark: tuple[int, int] | None = None  # (switches, passes) when last seen moving
    since: float = 0.0  # monotonic time at which ``mark`` was first seen
    runner: tuple[int, CodeType] | None = None  # bottom frame of the running green thread
    reported: bool = False


class BlockingMonitor:
    """Watches hubs from one native thread and logs the green thread that blocks one.

    Use ``greenlane.debug.hub_blocking_detection`` rather than this class.
    """

    def __init__(self) -> None:
        self._lock = allocate_lock()
        self._watches: dict[int, _Watch] = {}  # id(hub) -> watch
        self._running = False
        self._generation = 0  # bumped on fork: a stale monitor thread exits

    def watch(self, hub: Hub, threshold: float) -> None:
        """Report ``hub`` whenever it does not switch for ``threshold`` seconds."""
        if not threshold > 0:
            raise ValueError(f"a blocking threshold must be a positive number of seconds, not {threshold!r}")
        with self._lock:
            # No weakref callback: it could run inside this very lock (a GC pass).
            self._watches[id(hub)] = _Watch(weakref.ref(hub), float(threshold))
            if not self._running:
                self._running = True
                # It never wakes a hub, so the deadlock rules must not count it as a possible waker.
                quiet_threads[0] += 1
                try:
                    start_new_thread(self._run, (self._generation,))
                except BaseException:
                    quiet_threads[0] -= 1
                    self._running = False
                    raise

    def unwatch(self, hub: Hub) -> None:
        """Stop watching ``hub`` (no effect if it was not watched)."""
        with self._lock:
            self._watches.pop(id(hub), None)

    def threshold(self, hub: Hub) -> float | None:
        """The threshold ``hub`` is watched with, or None."""
        watch = self._watches.get(id(hub))
        return watch.threshold if watch is not None and watch.hub() is hub else None

    def _run(self, generation: int) -> None:
        try:
            self._loop(generation)
        except BaseException:  # interpreter shutdown; an orderly exit leaves in _loop
            quiet_threads[0] -= 1
            raise

    def _loop(self, generation: int) -> None:
        while True:
            with self._lock:
                for key, watch in list(self._watches.items()):
                    hub = watch.hub()
                    if hub is None or hub.closed:
                        del self._watches[key]
                hub = None
                if not self._watches or generation != self._generation:
                    quiet_threads[0] -= 1  # under the lock: a new watch() then starts afresh
                    if generation == self._generation:
                        self._running = False
                    return
                watches = list(self._watches.values())
            tick = min(w.threshold for w in watches) / TICKS_PER_THRESHOLD
            os_sleep(min(MAX_TICK, max(MIN_TICK, tick)))
            try:
                self._check(watches)
            except Exception:  # a monitor that dies silently would be worse than one that complains
                log.exception("greenlane blocking detector: check failed")

    def _check(self, watches: list[_Watch]) -> None:
        now = monotonic()
        frames: dict[int, FrameType] | None = None
        for watch in watches:
            hub = watch.hub()
            if hub is None or hub.closed:
                continue  # dropped on the next tick
            mark = hub.progress()
            if mark is None or mark != watch.mark:
                self._moved(watch, now, mark)
                continue
            if frames is None:
                frames = sys._current_frames()
            frame = frames.get(hub.ident)
            if frame is None:  # its thread has ended
                self._moved(watch, now, None)
                continue
            bottom = _bottom(frame)
            runner = (id(bottom), bottom.f_code)
            if watch.runner is None:  # first tick of a stall: time it from here
                watch.runner = runner
                watch.since = now
                continue
            if runner != watch.runner:  # another green thread runs: progress
                self._moved(watch, now, mark)
                watch.runner = runner
                continue
            stalled = now - watch.since
            if not watch.reported and stalled >= watch.threshold and _has_work(hub):
                watch.reported = True
                _report(hub, frame, bottom, stalled, watch.threshold)
            del frame, bottom  # keep no frame of another thread alive between ticks

    @staticmethod
    def _moved(watch: _Watch, now: float, mark: tuple[int, int] | None) -> None:
        if watch.reported:
            hub = watch.hub()
            log.warning(
                "greenlane hub of thread %s switches again, after about %.3f s blocked",
                hub.ident if hub is not None else "?", now - watch.since,
            )
        watch.mark = mark
        watch.since = now
        watch.runner = None
        watch.reported = False

    def _after_fork_in_child(self) -> None:
        # The monitor thread did not survive the fork; hubs of other threads are gone too.
        self._lock = allocate_lock()
        self._generation += 1
        self._running = False
        mine: Hub | None = existing_hub()
        kept = {k: w for k, w in self._watches.items() if mine is not None and w.hub() is mine}
        self._watches = {}
        for watch in kept.values():
            hub = watch.hub()
            if hub is not None:
                self.watch(hub, watch.threshold)

    def __repr__(self) -> str:
        return f"<BlockingMonitor hubs={len(self._watches)} running={self._running}>"


def _bottom(frame: FrameType) -> FrameType:
    """The outermost frame of ``frame``'s green thread (a greenlet's stack ends at its first frame)."""
    while frame.f_back is not None:
        frame = frame.f_back
    return frame


def _has_work(hub: Hub) -> bool:
    """Whether anyone could be kept waiting by a stuck hub (read from another thread: approximate)."""
    return hub.busy()


def _who(hub: Hub, bottom: FrameType) -> str:
    """Name the green thread whose stack ends at ``bottom``."""
    code = bottom.f_code
    role = frame_role(code)
    if role == "worker":
        # A pooled worker: its task is the green thread. (Reading f_locals of
        # a frame that is not the one executing is safe under the GIL.)
        worker = bottom.f_locals.get("me")
        task = getattr(worker, "task", None)
        return repr(task) if task is not None else "an idle worker"
    if role == "hub":
        return "the hub itself (a callback or timer it runs)"
    return "the thread's main green thread (or a raw greenlet)"


def c_call(frame: FrameType) -> str | None:
    """The source of the call ``frame`` (a thread's innermost frame) is making into C code, or None.

    A Python callee would have a frame of its own on top: an innermost frame
    standing on a call instruction means the thread runs C code it called.
    """
    code = frame.f_code
    offset = frame.f_lasti
    if offset < 0 or offset >= len(code.co_code):
        return None
    if dis.opname[code.co_code[offset]] not in _CALL_OPS:
        return None
    co_positions = getattr(code, "co_positions", None)  # CPython 3.11+
    if co_positions is None:
        return None
    positions = list(co_positions())
    index = offset // 2  # code units are two bytes
    if index >= len(positions):
        return None
    first, last, start, end = positions[index]
    if first is None or last is None or start is None or end is None:
        return None
    lines = [linecache.getline(code.co_filename, n) for n in range(first, last + 1)]
    if not all(lines):
        return None
    lines[-1] = lines[-1][:end]
    lines[0] = lines[0][start:]
    return " ".join(line.strip() for line in lines) or None


def _report(hub: Hub, frame: FrameType, bottom: FrameType, stalled: float, threshold: float) -> None:
    stack = trimmed_stack(frame, limit=STACK_LIMIT)
    top = stack[-1] if stack else None
    where = f"{top.name} ({top.filename}:{top.lineno})" if top is not None else "?"
    call = c_call(frame)
    inside = (
        f"; it is inside the C call `{call}`, and C code cannot switch green threads (a lock or "
        "queue.SimpleQueue made before monkey_patch(), or a C extension's blocking call?)"
        if call is not None else ""
    )
    log.warning(
        "greenlane hub of thread %d has not switched for %.3f s (threshold %.3f s): "
        "%s is blocking it, running %s%s; it is not interrupted. Stack (most recent call last):\n%s",
        hub.ident, stalled, threshold, _who(hub, bottom), where, inside, "".join(stack.format()).rstrip(),
    )


monitor: Final = BlockingMonitor()
os.register_at_fork(after_in_child=monitor._after_fork_in_child)
