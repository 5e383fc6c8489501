"""The blocking detector: it names the green thread that holds the hub, logs its stack, lets it run.

Real time on purpose (the detector watches wall time from a native thread);
the blocks are 3x the threshold and the quiet cases never come near it.
"""

from __future__ import annotations

import contextlib
import logging
import time
from _queue import Empty, SimpleQueue
from collections.abc import Iterator

import pytest

import greenlane
from greenlane import debug
from greenlane._core import get_hub
from greenlane._core._wakers import quiet_threads
from greenlane.debug._blocking import monitor
from helpers import native_hub_only, run_script

THRESHOLD = 0.1
BLOCK = 0.3  # unpatched time.sleep: the hub cannot switch meanwhile
# Generous: how long a stopped monitor thread may take to notice and exit.
MONITOR_EXIT_WAIT = 5.0


@pytest.fixture
def detector(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.WARNING, logger="greenlane.debug")
    debug.hub_blocking_detection(True, THRESHOLD)
    try:
        yield caplog
    finally:
        debug.hub_blocking_detection(False)


def _reports(caplog: pytest.LogCaptureFixture) -> list[str]:
    messages = [r.getMessage() for r in caplog.records if r.name == "greenlane.debug"]
    return [m for m in messages if "has not switched" in m]


def _wait_for_log(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    deadline = time.monotonic() + MONITOR_EXIT_WAIT
    while not any(text in r.getMessage() for r in caplog.records):
        if time.monotonic() > deadline:
            return False
        greenlane.sleep(0.01)
    return True


def _wait_for_monitor_exit() -> None:
    deadline = time.monotonic() + MONITOR_EXIT_WAIT
    while monitor._running and time.monotonic() < deadline:
        time.sleep(0.01)


def hog_the_hub() -> str:
    time.sleep(BLOCK)
    return "finished"


def test_logs_the_blocking_green_thread_with_its_stack_and_lets_it_finish(
    detector: pytest.LogCaptureFixture,
) -> None:
    gt = greenlane.spawn(hog_the_hub)
    assert gt.wait() == "finished"  # not interrupted
    assert _wait_for_log(detector, "switches again")  # the monitor saw the hub move again
    [report] = _reports(detector)
    assert "<GreenThread hog_the_hub" in report
    assert "running hog_the_hub (" in report
    assert 'in hog_the_hub\n    time.sleep(BLOCK)' in report  # the stack, with the source line
    assert "_work" not in report and "greenthread.py" not in report  # greenlane's own frames trimmed
    assert all(r.levelno == logging.WARNING for r in detector.records)


def test_silent_for_cooperative_code_short_blocks_and_an_idle_hub(detector: pytest.LogCaptureFixture) -> None:
    def busy_but_polite() -> None:
        for _ in range(20):
            time.sleep(THRESHOLD / 10)  # blocks well under the threshold, then yields
            greenlane.sleep(0)

    def sleeper() -> None:
        greenlane.sleep(BLOCK)  # the hub sleeps in its poller: idle, not blocked

    threads = [greenlane.spawn(busy_but_polite), greenlane.spawn(sleeper)]
    for gt in threads:
        gt.wait()
    greenlane.sleep(BLOCK)
    assert _reports(detector) == []


def test_silent_when_nothing_waits_on_the_hub(detector: pytest.LogCaptureFixture) -> None:
    # The main green thread computes with no green thread, timer or fd wait
    # anywhere: nobody is kept waiting, so there is nothing to report.
    time.sleep(BLOCK)
    greenlane.sleep(0)
    assert _reports(detector) == []


@native_hub_only("the hub greenlet's stack there is asyncio's loop, not greenlane's poll")
def test_names_the_main_green_thread_and_the_hub_itself(detector: pytest.LogCaptureFixture) -> None:
    gt = greenlane.spawn(greenlane.sleep, 0.01)
    time.sleep(BLOCK)  # the main green thread holds the hub while gt's timer is due
    gt.wait()
    hub = get_hub()
    hub.call_soon(time.sleep, BLOCK)  # a hub callback that blocks
    greenlane.sleep(0)
    reports = _reports(detector)
    assert len(reports) == 2
    assert "the thread's main green thread" in reports[0]
    assert "test_names_the_main_green_thread_and_the_hub_itself" in reports[0]
    assert "the hub itself" in reports[1]


def test_off_by_default_and_turned_off_by_a_bare_call(caplog: pytest.LogCaptureFixture) -> None:
    hub = get_hub()
    assert monitor.threshold(hub) is None
    _wait_for_monitor_exit()  # an earlier test's monitor may still be finishing its last tick
    quiet_before = quiet_threads[0]
    debug.hub_blocking_detection(True, 0.5)
    assert monitor.threshold(hub) == 0.5
    assert "hubs=1" in repr(monitor)
    debug.hub_blocking_detection()  # eventlet's default state is False
    assert monitor.threshold(hub) is None
    _wait_for_monitor_exit()
    assert not monitor._running  # the monitor thread exits when nothing is watched...
    assert quiet_threads[0] == quiet_before  # ...and no longer counts as a quiet thread


def test_rejects_a_non_positive_threshold() -> None:
    with pytest.raises(ValueError, match="positive number of seconds"):
        debug.hub_blocking_detection(True, 0)


def test_deadlock_still_detected_while_watched(detector: pytest.LogCaptureFixture) -> None:
    # The monitor is a native thread, but it can never wake a hub.
    with pytest.raises(greenlane.DeadlockError):
        greenlane.event.Event().wait()


def test_env_var_watches_every_new_hub() -> None:
    result = run_script(
        """
        import logging, time
        import greenlane

        logging.basicConfig(level=logging.WARNING, format="%(name)s %(message)s")

        def stuck_in_c():
            time.sleep(0.3)

        greenlane.spawn(stuck_in_c).wait()
        print("pass")
        """,
        env={"GREENLANE_MAX_BLOCKING_TIME": "0.1"},
    )
    assert result.stdout.strip() == "pass", result.stderr
    assert "greenlane.debug" in result.stderr and "running stuck_in_c" in result.stderr


def test_env_var_unset_means_off() -> None:
    result = run_script(
        """
        import logging, time
        import greenlane

        logging.basicConfig(level=logging.WARNING)
        greenlane.spawn(time.sleep, 0.3).wait()
        from greenlane.debug._blocking import monitor
        print("pass" if not monitor._running else "monitor running")
        """,
        env={"GREENLANE_MAX_BLOCKING_TIME": ""},
    )
    assert result.stdout.strip() == "pass", result.stderr
    assert "has not switched" not in result.stderr


def test_a_forked_child_watches_its_own_hub() -> None:
    result = run_script(
        """
        import logging, os, time
        import greenlane

        logging.basicConfig(level=logging.WARNING, format="%(process)d %(message)s")
        greenlane.sleep(0)  # the parent's hub exists and is watched before the fork
        pid = os.fork()
        if pid == 0:
            def child_stuck():
                time.sleep(0.3)
            greenlane.spawn(child_stuck).wait()
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        print("pass" if status == 0 else f"child status {status}")
        """,
        env={"GREENLANE_MAX_BLOCKING_TIME": "0.1"},
    )
    assert result.stdout.strip() == "pass", result.stderr
    assert "running child_stuck" in result.stderr


def test_names_the_c_call_a_green_thread_is_stuck_in(detector: pytest.LogCaptureFixture) -> None:
    q: SimpleQueue[int] = SimpleQueue()  # the C queue, as one made before monkey_patch() stays

    def stuck() -> None:
        with contextlib.suppress(Empty):
            q.get(timeout=BLOCK)  # blocks the OS thread: C code cannot switch

    greenlane.spawn(stuck).wait()
    assert _wait_for_log(detector, "switches again")
    [report] = _reports(detector)
    assert "it is inside the C call `q.get(timeout=BLOCK)`, and C code cannot switch" in report
    assert "queue.SimpleQueue made before monkey_patch()" in report
