"""Native (non-green) OS threads waiting on green primitives.

A native thread cannot park: it has no hub. To wait on a green primitive it
hands the wait to a green thread of the primitive's owning hub and blocks on
a real lock until that green thread reports back (see ``_core._owner``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from greenlet import GreenletExit

from ._core import CrossThreadError, Hub, Task, allocate_lock

__all__ = ["acquire_from_native", "wait_from_native"]

T = TypeVar("T")


class _Call(Task):
    """The green thread that makes a native thread's call: a bare task (no result, no links)."""

    def __init__(self, fn: Callable[[], None]) -> None:
        super().__init__()
        self.fn = fn

    def _run(self) -> None:
        self._state = Task.RUNNING
        try:
            self.fn()  # catches everything itself
        finally:
            self._state = Task.DONE

    def stop(self, hub: Hub) -> None:
        """End it (in ``hub``'s thread): before it starts, or by ``GreenletExit`` in its wait."""
        if self._state == Task.QUEUED:
            self._state = Task.DONE
        elif self._state == Task.RUNNING and self._glet is not None:
            hub.throw(self._glet, GreenletExit())


def wait_from_native(
    owner: Hub | None,
    what: str,
    call: Callable[[], T],
    timeout: float | None,
    undo: Callable[[T], object] | None = None,
) -> T:
    """Run the blocking ``call`` in a green thread of ``owner`` while this native thread waits.

    Returns its result or raises its exception. If ``timeout`` passes first,
    raises ``TimeoutError`` and kills the green call; if the call had already
    succeeded, ``undo(result)`` gives back what it took (a unit, an item).
    """
    if owner is None:
        raise CrossThreadError(
            f"{what} from a native thread: no green thread uses this primitive yet, "
            "so nothing could ever wake this thread"
        )
    done = allocate_lock()
    done.acquire()
    state = allocate_lock()  # guards outcome/abandoned between the two threads
    outcome: list[tuple[bool, Any]] = []
    abandoned: list[bool] = []

    def run() -> None:
        try:
            result: tuple[bool, Any] = (True, call())
        except BaseException as exc:  # handed to the native caller below
            result = (False, exc)
        with state:
            late = bool(abandoned)
            if not late:
                outcome.append(result)
        if late:
            if result[0] and undo is not None:
                undo(result[1])
        else:
            done.release()

    task = _Call(run)
    owner.call_soon_threadsafe(owner.start_task, task)
    if done.acquire(True, -1 if timeout is None else timeout):
        ok, value = outcome[0]
        if ok:
            return value  # type: ignore[no-any-return]
        raise value
    with state:
        if outcome:  # finished just as we gave up: take it after all
            ok, value = outcome[0]
            if ok:
                return value  # type: ignore[no-any-return]
            raise value
        abandoned.append(True)
    owner.call_soon_threadsafe(task.stop, owner)
    raise TimeoutError(f"{what} did not complete within {timeout} seconds")


class _Acquirable(Protocol):
    _owner: Hub | None

    def _try_unowned(self, attempt: Callable[[], bool]) -> list[bool]: ...
    def _try_acquire(self) -> bool: ...
    def acquire(self, blocking: bool = ..., timeout: float | None = ...) -> bool: ...
    def release(self) -> Any: ...


def acquire_from_native(
    prim: _Acquirable, what: str, blocking: bool, timeout: float | None, wait: float | None
) -> bool:
    """``acquire`` for a native thread: try at once if nobody owns ``prim``, else wait through its hub.

    ``timeout`` is passed on to the green ``acquire`` as given; ``wait`` is it
    normalised (None: forever) to tell whether the caller may wait at all.
    """
    tried = prim._try_unowned(prim._try_acquire)
    if tried and (tried[0] or not blocking or wait == 0):
        return tried[0]
    return wait_from_native(
        prim._owner,
        what,
        lambda: prim.acquire(blocking, timeout),
        None,
        undo=lambda got: prim.release() if got else None,
    )
