"""What one green thread is doing, read from the hub's own parking record.

Tests (``greenlane.testing``) and tools need to know whether a green thread
has reached a wait, and which: "sleep 10 ms and check it is not dead" guesses
at that and fails under load. The answer is already kept, in the thread's
``Parked`` record (``_parking``); ``wait_state`` copies it out into a frozen
snapshot, so nothing outside ``_core`` reads or writes the record itself.

A ``Task`` (what ``spawn`` returns) is *queued* until a worker picks it up,
*done* once it returned or raised; in between its state is its worker's
record's. A raw greenlet (a thread's main green thread) has a record from its
first wait on. Read-only, and only meaningful in the hub's own OS thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from greenlet import getcurrent as _getcurrent
from greenlet import greenlet

from ._parking import PARKED, RUNNING, Parked
from ._parking import STATE_NAMES as _STATE_NAMES
from ._tasks import Task

__all__ = ["WaitState", "wait_state"]

QUEUED: Final = "queued"
DONE: Final = "done"


@dataclass(frozen=True, slots=True)
class WaitState:
    """A snapshot of one green thread's parking record.

    ``state`` is one of ``"queued"`` (spawned, not started), ``"running"``,
    ``"parked"``, ``"woken"``, ``"timed out"``, ``"aborted"`` (the last three:
    due to resume on the hub's next pass) or ``"done"``. ``reason`` is what it
    parked on last (``"event"``, ``"queue get"``, ``"sleep"``...; ``""`` if it
    never parked), ``fd`` the file descriptor it waits on (-1: none) and
    ``timed`` whether that wait has a timeout.
    """

    state: str
    reason: str = ""
    fd: int = -1
    timed: bool = False

    @property
    def parked(self) -> bool:
        """True while the thread waits (and nothing has woken it yet)."""
        return self.state == _STATE_NAMES[PARKED]


def wait_state(thread: Task | greenlet | Any) -> WaitState:
    """What ``thread`` (a ``GreenThread``/``Task`` or a greenlet) is doing now; see ``WaitState``.

    Raises ``TypeError`` for anything that is not a green thread.
    """
    if isinstance(thread, Task):
        if thread._state == Task.QUEUED:
            return WaitState(QUEUED)
        if thread._state == Task.DONE:
            return WaitState(DONE)
        glet = thread._glet
    elif isinstance(thread, greenlet):
        if thread.dead:
            return WaitState(DONE)
        glet = thread
    else:
        raise TypeError(f"wait_state() needs a green thread or a greenlet, not {thread!r}")
    rec: Parked | None = getattr(glet, "rec", None)
    if rec is None or glet is _getcurrent():
        return WaitState(_STATE_NAMES[RUNNING])
    return WaitState(_STATE_NAMES[rec.state], rec.reason, rec.fd if rec.state == PARKED else -1,
                     rec.state == PARKED and rec.timer is not None)
