"""greenlane.testing's synchronisation helpers, and the hub state they read (wait_state, polling)."""

from __future__ import annotations

import threading
import time

import greenlet
import pytest

import greenlane
from greenlane._core import WaitState, get_hub, wait_state
from greenlane.green import socket as gsocket
from greenlane.testing import assert_parked, wait_until, wait_until_parked


def test_wait_state_follows_a_green_thread_through_its_life() -> None:
    ev: greenlane.Event[int] = greenlane.Event()
    gt = greenlane.spawn(ev.wait)
    assert wait_state(gt) == WaitState("queued")
    wait_until_parked(gt)
    state = wait_state(gt)
    assert state == WaitState("parked", "event") and state.parked and not state.timed
    ev.send(1)
    assert wait_state(gt).state == "woken"  # handed its value, not yet resumed
    assert gt.wait() == 1
    assert wait_state(gt) == WaitState("done")
    timed = greenlane.spawn(greenlane.sleep, 60)
    wait_until_parked(timed, reason="sleep")
    assert wait_state(timed).timed
    timed.kill()


def test_wait_state_of_raw_greenlets_and_bad_input() -> None:
    main = greenlet.getcurrent()
    assert wait_state(main).state == "running"
    seen: list[WaitState] = []
    greenlane.spawn(lambda: seen.append(wait_state(main))).wait()
    assert seen[0].parked and seen[0].reason.startswith("green thread")  # main waits in gt.wait()
    with pytest.raises(TypeError, match="42"):
        wait_state(42)


def test_fd_waits_show_their_fd() -> None:
    a, b = gsocket.socketpair()
    with a, b:
        gt = greenlane.spawn(a.recv, 1)
        wait_until_parked(gt)
        assert assert_parked(gt, reason="waiting to read").fd == a.fileno()
        b.sendall(b"x")
        assert gt.wait() == b"x"


def test_wait_until_parked_with_no_thread_waits_until_nothing_else_is_ready() -> None:
    done: list[int] = []

    def busy() -> None:
        for i in range(50):
            done.append(i)
            greenlane.sleep(0)

    greenlane.spawn(busy)
    wait_until_parked()
    assert len(done) == 50 and get_hub().statistics().ready == 0


def test_assert_parked_names_what_it_found() -> None:
    gt = greenlane.spawn(greenlane.sleep, 60)
    with pytest.raises(AssertionError, match=r"is not parked: WaitState\(state='queued'"):
        assert_parked(gt)
    wait_until_parked(gt)
    with pytest.raises(AssertionError, match=r"not parked on 'event'.*reason='sleep'"):
        assert_parked(gt, reason="event")
    gt.kill()


def test_wait_until_parked_fails_at_once_for_a_thread_that_ended_and_rejects_bad_calls() -> None:
    gt = greenlane.spawn(int)
    start = time.monotonic()
    with pytest.raises(AssertionError, match="ended instead of parking"):
        wait_until_parked(gt)
    assert time.monotonic() - start < 5  # not after the patience
    with pytest.raises(ValueError, match="itself"):
        wait_until_parked(greenlane.getcurrent())
    with pytest.raises(ValueError, match="0"):
        wait_until_parked(patience=0)
    with pytest.raises(TypeError, match="'x'"):
        wait_until_parked("x")


def test_wait_until_and_its_hang_guard() -> None:
    box: list[int] = []
    greenlane.spawn(box.append, 1)
    wait_until(lambda: box)
    with pytest.raises(AssertionError, match=r"still false after 0\.01 s"):
        wait_until(lambda: False, patience=0.01)


def test_statistics_tell_another_thread_when_the_hub_sleeps_in_its_poll() -> None:
    hub = get_hub()
    assert not hub.statistics().polling  # this thread is running, not polling
    seen: list[bool] = []
    ev: greenlane.Event[None] = greenlane.Event()

    def native() -> None:
        deadline = time.monotonic() + 30  # a hang guard
        while not hub.statistics().polling and time.monotonic() < deadline:
            time.sleep(0.0005)
        seen.append(hub.statistics().polling)
        ev.send(None)

    thread = threading.Thread(target=native)
    thread.start()
    ev.wait()  # the hub has nothing to run: it polls until the native thread sends
    thread.join()
    assert seen == [True]
