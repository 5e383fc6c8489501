"""Spawned green threads: ``Task``, and the pool of worker greenlets a hub runs them on.

Creating a greenlet costs ~9.5 us on CPython 3.11 (it maps a fresh stack
chunk), and switching into a parked one under 1 us. So ``spawn`` does not
make a greenlet: the hub queues the ``Task`` (``Hub.start_task``), and on its
next pass ``Workers.start`` hands it to an idle worker greenlet, or a new one.
A worker runs one task at a time; identity (``current()``, attributes,
locals) belongs to the task, not to the worker, so nothing leaks from one
task to the next, and past ``MAX_IDLE_WORKERS`` idle ones a finished worker
exits instead of parking, so a burst of 100k spawns does not keep 100k
stacks alive afterwards.

``Task``'s ``_state`` and ``_glet`` are its subclasses' interface
(``GreenThread``, eventlet's listeners): QUEUED until a worker picks it up,
RUNNING (set by ``_run``), DONE (set by ``_run`` when it ends; set before
the start, it cancels the start).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Final

from greenlet import getcurrent as _getcurrent
from greenlet import greenlet

from ._parking import Parked

if TYPE_CHECKING:
    from ._hub import Hub

__all__ = ["MAX_IDLE_WORKERS", "Task", "Workers", "current"]

# A finished worker parks for reuse; past this many idle ones it exits instead.
MAX_IDLE_WORKERS: Final = 1024


class Task:
    """Something a worker greenlet runs: the base of ``GreenThread``."""

    __slots__ = ("__dict__", "__weakref__", "_glet", "_state")

    # _state: QUEUED until a worker picks it up, then RUNNING, then DONE.
    QUEUED: Final = 0
    RUNNING: Final = 1
    DONE: Final = 2

    # Called with every new task when set (``observe_spawns``: greenlane.debug's spawn recorder).
    on_new: ClassVar[Callable[[Task], object] | None] = None

    def __init__(self) -> None:
        self._glet: greenlet | None = None
        self._state = Task.QUEUED
        if Task.on_new is not None:
            Task.on_new(self)

    def _run(self) -> None:
        """Run to completion; must not raise (report instead)."""
        raise NotImplementedError

    def _hub(self) -> Hub:
        """The hub of the thread running this task (it must have started)."""
        assert self._glet is not None
        return self._glet.rec.hub  # type: ignore[attr-defined,no-any-return]


class _Worker(greenlet):
    """A pooled greenlet that runs tasks one after another."""

    __slots__ = ("rec", "task")

    def __init__(self, workers: Workers) -> None:
        super().__init__(workers.work, workers.hub.greenlet)
        self.rec = Parked(workers.hub, self)
        self.task: Task | None = None


def current() -> Any:
    """The running green thread: its ``Task`` if spawned, else the raw greenlet."""
    glet = _getcurrent()
    task = getattr(glet, "task", None)
    return glet if task is None else task




class Workers:
    """A hub's worker greenlets: the idle ones, and how many tasks are queued or running."""

    __slots__ = ("alive", "hub", "idle")

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.idle: list[_Worker] = []
        self.alive = 0  # tasks started (queued included) and not ended

    def start(self, task: Task) -> None:
        """Run ``task`` on an idle worker, or a new one (a hub callback: in the hub's greenlet)."""
        if task._state != Task.QUEUED:  # cancelled before it started
            self.alive -= 1
            return
        idle = self.idle
        worker = idle.pop() if idle else _Worker(self)
        worker.task = task
        worker.switch()  # no arguments: greenlet would hold them for the worker's life

    def work(self) -> None:
        """A worker greenlet's whole life: run tasks, park idle between them."""
        me: _Worker = _getcurrent()  # type: ignore[assignment]
        idle, hub = self.idle, self.hub
        while True:
            task = me.task
            assert task is not None
            task._glet = me
            task._run()
            me.rec.deferred = None  # a soft throw the ended task never waited for again
            me.task = task = None  # an idle worker keeps no task alive...
            me.gr_context = None  # ...nor its contextvars
            self.alive -= 1
            if len(idle) >= MAX_IDLE_WORKERS or hub.closed:
                return
            idle.append(me)
            hub.greenlet.switch()

    def clear(self) -> None:
        """Forget the tasks (a test harness dropping a failed test's hub)."""
        self.alive = 0
