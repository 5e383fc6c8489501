"""Whole-process behaviour, each in a fresh interpreter: signals, fork, shutdown, import side effects."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import pytest

from greenlane._core import _stdlib  # white-box: the real clock functions
from helpers import SUBPROCESS_TIMEOUT, run_script


def test_import_starts_and_patches_nothing() -> None:
    proc = run_script(
        """
        import threading, time, socket, sys
        before = (threading.active_count(), time.sleep, socket.socket)
        import greenlane
        from greenlane._core import existing_hub
        assert (threading.active_count(), time.sleep, socket.socket) == before
        assert existing_hub() is None, "a hub was created at import"
        print("pass")
        """
    )
    assert proc.stdout.strip() == "pass", proc.stderr


def test_ctrl_c_while_the_hub_polls_reaches_main_and_hub_stays_usable() -> None:
    code = textwrap.dedent(
        """
        import signal, sys, threading, time, greenlane
        # As Python does at startup, unless SIGINT came in ignored (a suite run as a background job).
        signal.signal(signal.SIGINT, signal.default_int_handler)
        hub = greenlane.get_hub()

        def say_ready():  # a native thread: once the hub sleeps in its poll
            while not hub.statistics().polling:
                time.sleep(0.0005)
            print("ready", flush=True)

        threading.Thread(target=say_ready).start()
        try:
            greenlane.sleep(30)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
        print(greenlane.spawn(lambda: "still works").wait(), flush=True)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"  # it sleeps in its poll
        start = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=SUBPROCESS_TIMEOUT)
        assert time.monotonic() - start < 10
    finally:
        proc.kill()
        proc.wait()
    assert out.split() == ["interrupted", "still", "works"]


def test_signal_handler_can_wake_a_waiter_without_deadlock_error() -> None:
    code = """
        import os, signal, threading, time, greenlane
        stop = greenlane.Event()
        signal.signal(signal.SIGUSR1, lambda *a: stop.send("signalled"))
        hub = greenlane.get_hub()
        def later():
            while not hub.statistics().polling:  # the waiter is parked and the hub asleep
                time.sleep(0.0005)
            os.kill(os.getpid(), signal.SIGUSR1)
        threading.Thread(target=later).start()
        print(stop.wait(), flush=True)
    """
    proc = run_script(code)
    assert proc.stdout.strip() == "signalled", proc.stderr


def test_fork_gives_the_child_a_fresh_working_hub() -> None:
    code = """
        import os, greenlane
        ev = greenlane.Event()
        waiter = greenlane.spawn(ev.wait)
        greenlane.sleep(0.01)
        parent_hub = greenlane.get_hub()
        parent_poller = parent_hub.io.poller
        pid = os.fork()
        if pid == 0:
            hub = greenlane.get_hub()
            ok = hub.io.poller is not parent_poller
            ok = ok and greenlane.spawn(lambda: (greenlane.sleep(0.01), "child")[1]).wait() == "child"
            ev.send("child")
            ok = ok and waiter.wait() == "child"
            os._exit(0 if ok else 3)
        _, status = os.waitpid(pid, 0)
        ev.send("parent")
        assert waiter.wait() == "parent"
        print("pass" if os.waitstatus_to_exitcode(status) == 0 else f"child failed {status}")
    """
    proc = run_script(code)
    assert proc.stdout.strip() == "pass", proc.stderr


def test_fork_after_fds_were_recycled_keeps_the_child_hub_working() -> None:
    # The child's signal wake-up fd must not point at the parent's closed pipe.
    code = """
        import os, greenlane
        spare = os.open(os.devnull, os.O_RDONLY)
        greenlane.sleep(0)   # hub (and its pipe) created above the spare fd
        os.close(spare)      # a lower number is now free for the child's new pipe
        pid = os.fork()
        if pid == 0:
            ok = greenlane.spawn(lambda: (greenlane.sleep(0.01), 7)[1]).wait() == 7
            os._exit(0 if ok else 3)
        _, status = os.waitpid(pid, 0)
        print("pass" if os.waitstatus_to_exitcode(status) == 0 else f"child failed {status}")
    """
    proc = run_script(code)
    assert proc.stdout.strip() == "pass", proc.stderr
    assert "Exception ignored" not in proc.stderr


def test_exit_with_live_green_threads_is_quiet() -> None:
    code = """
        import greenlane
        ev = greenlane.Event()
        def stuck():
            try:
                ev.wait()
            finally:
                pass
        threads = [greenlane.spawn(stuck) for _ in range(50)]
        sleepers = [greenlane.spawn(greenlane.sleep, 100) for _ in range(50)]
        greenlane.sleep(0.01)
        print("main done")
    """
    proc = run_script(code)
    assert proc.returncode == 0
    assert proc.stdout.strip() == "main done"
    assert proc.stderr == ""


def test_exit_from_a_green_thread_exits_the_process() -> None:
    proc = run_script(
        """
        import sys, greenlane
        def leave(): sys.exit(7)
        greenlane.spawn(leave)
        greenlane.sleep(1)
        print("not reached")
        """
    )
    assert proc.returncode == 7
    assert "not reached" not in proc.stdout


@pytest.mark.parametrize("hub", ["epoll", "poll", "select"])
def test_env_var_selects_the_poller(hub: str) -> None:
    proc = run_script(
        "import greenlane; greenlane.sleep(0.001); print(greenlane.get_hub().poller_name)",
        env={"GREENLANE_HUB": hub},
    )
    assert proc.stdout.strip() == hub, proc.stderr


def test_free_threaded_build_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_stdlib.sysconfig, "get_config_var", lambda name: 1)
    monkeypatch.setattr(_stdlib.sys, "_is_gil_enabled", lambda: False, raising=False)
    with pytest.raises(ImportError, match="free-threaded"):
        _stdlib.refuse_free_threading()

