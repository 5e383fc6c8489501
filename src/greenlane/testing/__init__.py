"""Test helpers: a virtual clock, a fresh hub per test, and the "hub is empty" check.

Importing this module does not import pytest; the fixtures live in
``greenlane.testing.pytest_plugin``, which pytest loads automatically once
greenlane is installed (entry point ``pytest11``).

With a ``VirtualClock`` installed, every greenlane time read (timers, sleeps,
``Timeout``) goes through it, and when every green thread is parked on timers
alone (no watched fd, no work pending in another OS thread) the hub jumps the
clock straight to the next deadline instead of sleeping. A 10-minute back-off
schedule then runs in milliseconds and its timings are exact. While an fd or
cross-thread work is being waited on, the clock advances with real time, so
such waits are never cut short.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from .._core import Hub, get_hub, reset_thread_hub

__all__ = ["HubNotEmptyError", "VirtualClock", "assert_hub_empty", "fresh_hub", "virtual_time"]

# Yields allowed for finished threads to settle before a hub counts as leaking.
SETTLE_YIELDS: Final = 3


class HubNotEmptyError(AssertionError):
    """A test left timers, fd waits or green threads behind."""


class VirtualClock:
    """A clock that moves only when told to, or when the hub has nothing but timers to wait for."""

    __slots__ = ("_now",)

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)

    def now(self) -> float:
        """The current virtual time in seconds."""
        return self._now

    __call__ = now

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` (timers fire on the hub's next pass)."""
        if not seconds >= 0:
            raise ValueError(f"a clock cannot go back or by NaN: advance({seconds!r})")
        self._now += seconds

    def __repr__(self) -> str:
        return f"<VirtualClock now={self._now:.6f}>"


def install_virtual_clock(hub: Hub, clock: VirtualClock) -> None:
    """Make ``hub`` read time from ``clock`` (the hub must have no pending timers)."""
    if len(hub._timers):
        raise RuntimeError(f"install the virtual clock before setting timers: {hub!r}")
    hub.clock = clock.now
    hub._virtual = clock


@contextmanager
def fresh_hub() -> Iterator[Hub]:
    """A new hub for the calling thread for the duration; checks it is left empty."""
    reset_thread_hub()
    hub = get_hub()
    try:
        yield hub
        assert_hub_empty(hub)
    finally:
        _discard(hub)


@contextmanager
def virtual_time(start: float = 0.0) -> Iterator[VirtualClock]:
    """A fresh hub running on a ``VirtualClock`` for the duration."""
    clock = VirtualClock(start)
    with fresh_hub() as hub:
        install_virtual_clock(hub, clock)
        yield clock


def assert_hub_empty(hub: Hub | None = None) -> None:
    """Raise ``HubNotEmptyError`` if ``hub`` still has timers, fd waits or live green threads."""
    hub = hub or get_hub()
    from ..greenthread import sleep

    for _ in range(SETTLE_YIELDS):
        stats = hub.statistics()
        if not (stats.ready or stats.green_threads):
            break
        sleep(0)
    stats = hub.statistics()
    if stats.timers or stats.readers or stats.writers or stats.green_threads or stats.ready:
        raise HubNotEmptyError(
            f"the hub is not empty after the test: {stats.green_threads} green threads, "
            f"{stats.timers} timers, {stats.readers} readers, {stats.writers} writers, "
            f"{stats.ready} ready; timers: {hub.timers()[:5]}"
        )


def _discard(hub: Hub) -> None:
    """Forget ``hub`` even if a failed test left work in it."""
    hub._ready.clear()
    hub._calls.clear()
    hub._timers.clear()
    hub._readers.clear()
    hub._writers.clear()
    hub._fd_lines.clear()
    hub._tasks_alive = 0
    reset_thread_hub()
