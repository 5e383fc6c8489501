"""The virtual clock: time jumps when only timers are pending, never while an fd is waited on."""

from __future__ import annotations

import socket
import time

import pytest

import greenlane
from greenlane.testing import VirtualClock


def test_long_sleeps_run_instantly_and_exactly(virtual_clock: VirtualClock) -> None:
    start = time.monotonic()
    ticks: list[float] = []

    def ticker() -> None:
        for _ in range(4):
            ticks.append(virtual_clock.now())
            greenlane.sleep(10)

    greenlane.spawn(ticker).wait()
    assert ticks == [0, 10, 20, 30]
    assert virtual_clock.now() == 40
    assert time.monotonic() - start < 5


def test_timeouts_use_the_virtual_clock(virtual_clock: VirtualClock) -> None:
    with pytest.raises(greenlane.Timeout), greenlane.Timeout(3600):
        greenlane.Event().wait()
    assert virtual_clock.now() == 3600


def test_interleaving_is_by_deadline(virtual_clock: VirtualClock) -> None:
    log: list[tuple[float, str]] = []

    def every(period: float, name: str, n: int) -> None:
        for _ in range(n):
            greenlane.sleep(period)
            log.append((virtual_clock.now(), name))

    a = greenlane.spawn(every, 3, "a", 3)
    b = greenlane.spawn(every, 5, "b", 2)
    a.wait()
    b.wait()
    assert log == [(3, "a"), (5, "b"), (6, "a"), (9, "a"), (10, "b")]


def test_fd_wait_is_not_cut_short(virtual_clock: VirtualClock) -> None:
    a, b = socket.socketpair()
    try:
        def reader() -> bytes:
            greenlane.trampoline(a, read=True, timeout=1000)
            return a.recv(1)

        def writer() -> None:
            time.sleep(0.05)  # a real, blocking delay: the hub must wait for the fd
            b.send(b"!")

        gt = greenlane.spawn(reader)
        greenlane.sleep(0)
        hub = greenlane.get_hub()
        hub.hold_external()
        import threading

        thread = threading.Thread(target=writer)
        thread.start()
        assert gt.wait() == b"!"
        thread.join()
        hub.release_external()
        assert virtual_clock.now() < 1000  # the 1000 s timeout did not fire
    finally:
        a.close()
        b.close()


def test_deadlock_still_detected(virtual_clock: VirtualClock) -> None:
    with pytest.raises(greenlane.DeadlockError):
        greenlane.Event().wait()


def test_advance_rejects_going_back() -> None:
    clock = VirtualClock(5)
    with pytest.raises(ValueError, match="-1"):
        clock.advance(-1)
    clock.advance(2)
    assert clock() == 7
    assert "7.0" in repr(clock)
