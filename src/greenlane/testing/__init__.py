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

Synchronising on the hub, not on the clock. A test that must know a green
thread has reached its wait asks the hub instead of sleeping "long enough":
``wait_until_parked(gt)`` yields until ``gt`` is parked (``reason=`` names
the wait), ``wait_until_parked()`` until every other green thread is, and
``assert_parked(gt, reason=...)`` checks the thread's parking record now.
They read the hub through ``greenlane._core.wait_state`` and never write it.
Their only clock is a hang guard (``PARKING_PATIENCE``): a thread that never
parks fails the test with its state, instead of hanging it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Final

from .._core import Hub, WaitState, current, get_hub, monotonic, reset_thread_hub, wait_state

__all__ = [
    "HubNotEmptyError",
    "VirtualClock",
    "assert_hub_empty",
    "assert_parked",
    "fresh_hub",
    "virtual_time",
    "wait_until",
    "wait_until_parked",
]

# Yields allowed for finished threads to settle before a hub counts as leaking.
SETTLE_YIELDS: Final = 3
# Real seconds ``wait_until_parked`` gives a thread to reach its wait before failing the
# test: a guard against a hang, never a synchronisation (it returns as soon as the hub
# says so); wide, because a loaded CI machine may not run the process for seconds.
PARKING_PATIENCE: Final = 30.0


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
    hub.set_clock(clock)


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


def _matches(state: WaitState, reason: str | None) -> bool:
    return state.parked and (reason is None or reason in state.reason)


def assert_parked(thread: Any, reason: str | None = None) -> WaitState:
    """Raise ``AssertionError`` unless ``thread`` is parked now (on a wait whose reason contains ``reason``).

    ``thread`` is a ``GreenThread`` or a greenlet. Returns its ``WaitState``.
    A thread woken but not yet resumed is not parked.
    """
    state = wait_state(thread)
    if not _matches(state, reason):
        want = "parked" if reason is None else f"parked on {reason!r}"
        raise AssertionError(f"{thread!r} is not {want}: {state}")
    return state


def wait_until(condition: Callable[[], object], patience: float = PARKING_PATIENCE) -> None:
    """Let the hub run, a pass at a time, until ``condition()`` is true.

    For states the hub cannot name itself (another OS thread got somewhere,
    a count reached a value). Raises ``AssertionError`` after ``patience``
    real seconds (a hang guard, see ``PARKING_PATIENCE``).
    """
    from ..greenthread import sleep

    if not patience > 0:
        raise ValueError(f"patience must be a positive number of seconds, not {patience!r}")
    deadline = monotonic() + patience
    while not condition():
        if monotonic() > deadline:
            raise AssertionError(f"{condition!r} still false after {patience} s")
        sleep(0)


def wait_until_parked(*threads: Any, reason: str | None = None, patience: float = PARKING_PATIENCE) -> None:
    """Let the hub run until each of ``threads`` is parked (on ``reason``, if given).

    With no thread named: until every other green thread of this hub is
    parked, that is, nothing but the caller is ready to run. Each check
    follows a full pass of the hub (``sleep(0)``: I/O polled, due timers
    fired), so a thread found parked on an fd really found nothing to read.
    Raises ``AssertionError`` naming each thread's state if that takes longer
    than ``patience`` real seconds (a hang guard, see ``PARKING_PATIENCE``).
    """
    from ..greenthread import sleep

    if not patience > 0:
        raise ValueError(f"patience must be a positive number of seconds, not {patience!r}")
    me = current()
    for thread in threads:
        if thread is me:
            raise ValueError(f"a green thread cannot wait for itself to park: {thread!r}")
        wait_state(thread)  # a TypeError now for a non-thread, not after the patience
    hub = get_hub()
    deadline = monotonic() + patience
    while True:
        sleep(0)
        if threads:
            states = [wait_state(t) for t in threads]
            if all(_matches(state, reason) for state in states):
                return
            ended = [t for t, state in zip(threads, states, strict=True) if state.state == "done"]
            if ended:  # it can never park again: say so now, not after the patience
                raise AssertionError(f"ended instead of parking: {ended!r}")
        elif not hub.statistics().ready:
            return
        if monotonic() > deadline:
            what = ", ".join(f"{t!r}: {wait_state(t)}" for t in threads) or repr(hub)
            want = "parked" if reason is None else f"parked on {reason!r}"
            raise AssertionError(f"not {want} after {patience} s: {what}")


def _discard(hub: Hub) -> None:
    """Forget ``hub`` even if a failed test left work in it."""
    hub.discard_work()
    reset_thread_hub()
