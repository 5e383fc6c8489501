"""Native (non-green) OS threads waiting on green primitives.

A native thread cannot park: it has no hub. To wait on a green primitive it
hands the wait to a green thread of the primitive's owning hub and blocks on
a real lock until that green thread reports back (see ``_core._owner``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from ._core import CrossThreadError, Hub, allocate_lock

__all__ = ["acquire_from_native", "wait_from_native"]

T = TypeVar("T")


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
    from .greenthread import GreenThread, spawn

    done = allocate_lock()
    done.acquire()
    state = allocate_lock()  # guards outcome/abandoned between the two threads
    outcome: list[tuple[bool, Any]] = []
    abandoned: list[bool] = []
    handle: list[GreenThread[None]] = []

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

    owner.call_soon_threadsafe(lambda: handle.append(spawn(run)))
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
    owner.call_soon_threadsafe(lambda: handle[0].kill() if handle else None)
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
