"""The core's exceptions (re-exported by the public modules)."""

from __future__ import annotations

__all__ = ["CrossThreadError", "DeadlockError", "IOClosed", "cross_thread_message"]


class DeadlockError(RuntimeError):
    """The main green thread waits on something nothing can ever deliver."""


class CrossThreadError(RuntimeError):
    """A green primitive was used directly from an OS thread that does not own it."""


class IOClosed(OSError):
    """The fd a green thread waited on was closed by another green thread."""


def cross_thread_message(what: str) -> str:
    return (
        f"{what}: this green object belongs to another OS thread's hub; signal it from "
        "this thread with hub.call_soon_threadsafe(...) (the hub being the owner's get_hub())"
    )
