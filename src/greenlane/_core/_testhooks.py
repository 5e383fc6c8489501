"""The two writes a test harness makes to a hub, kept inside ``_core``.

``greenlane.testing`` installs a virtual clock in a fresh hub and, after a
failed test, drops whatever work the test left so the next test starts
clean. Both write the hub's private fields; they live here so that nothing
outside ``_core`` does.
"""

from __future__ import annotations

from ._hub import Hub, VirtualClock, reset_thread_hub

__all__ = ["discard_hub", "set_virtual_clock"]


def set_virtual_clock(hub: Hub, clock: VirtualClock) -> None:
    """Make ``hub`` read time from ``clock`` (the hub must have no pending timers)."""
    if len(hub._timers):
        raise RuntimeError(f"install the virtual clock before setting timers: {hub!r}")
    hub.clock = clock.now
    hub._virtual = clock


def discard_hub(hub: Hub) -> None:
    """Forget ``hub`` even if a failed test left work in it; the thread's next hub is a new one."""
    hub._ready.clear()
    hub._calls.clear()
    hub._timers.clear()
    hub._readers.clear()
    hub._writers.clear()
    hub._fd_lines.clear()
    hub._close_watchers.clear()
    hub._tasks_alive = 0
    reset_thread_hub()
