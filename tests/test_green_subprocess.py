"""greenlane.green.subprocess used directly: pipes, wait and communicate park only the caller."""

from __future__ import annotations

import os
import subprocess
import sys

import greenlet
import pytest

import greenlane
from greenlane._core import WaitState, wait_state
from greenlane.green import subprocess as gsub

PY = sys.executable
REVERSER = (
    "import sys, time; d = sys.stdin.read(); time.sleep(0.2); "
    "sys.stdout.write(d[::-1]); sys.stderr.write('e')"
)


def ticking() -> tuple[list[WaitState], greenlane.GreenThread[None]]:
    """A green thread noting, 10 times, what the calling (main) green thread is doing."""
    main = greenlet.getcurrent()
    seen: list[WaitState] = []

    def tick() -> None:
        for _ in range(10):
            seen.append(wait_state(main))
            greenlane.sleep(0.01)

    return seen, greenlane.spawn(tick)


def test_communicate_feeds_and_drains_while_others_run() -> None:
    ticks, t = ticking()
    proc = gsub.Popen(
        [PY, "-c", REVERSER],
        stdin=gsub.PIPE, stdout=gsub.PIPE, stderr=gsub.PIPE,
    )
    out, err = proc.communicate(b"abc" * 50000)
    assert out == (b"abc" * 50000)[::-1] and err == b"e" and proc.returncode == 0
    assert any(state.parked for state in ticks)  # it ticked while communicate waited
    t.wait()


def test_text_mode_and_the_stdlib_helpers() -> None:
    done = gsub.run([PY, "-c", "print(input().upper())"], input="hi", capture_output=True, text=True)
    assert isinstance(done, subprocess.CompletedProcess) and done.stdout == "HI\n"
    assert gsub.check_output([PY, "-c", "print(1)"]) == b"1\n"
    with pytest.raises(subprocess.CalledProcessError) as info:
        gsub.check_call([PY, "-c", "raise SystemExit(4)"])
    assert info.value.returncode == 4
    assert gsub.TimeoutExpired is subprocess.TimeoutExpired


def test_timeouts_raise_timeout_expired_and_communicate_resumes() -> None:
    proc = gsub.Popen([PY, "-c", "import time; time.sleep(0.3); print('late')"], stdout=gsub.PIPE)
    with pytest.raises(subprocess.TimeoutExpired) as info:
        proc.communicate(timeout=0.05)
    assert info.value.timeout == 0.05
    out, err = proc.communicate(timeout=10)
    assert out == b"late\n" and err is None
    with pytest.raises(ValueError, match="Cannot send input"):
        proc.communicate(b"x")
    sleeper = gsub.Popen([PY, "-c", "import time; time.sleep(10)"])
    with pytest.raises(subprocess.TimeoutExpired):
        sleeper.wait(0.05)
    sleeper.kill()
    assert sleeper.wait() < 0
    assert greenlane.get_hub().statistics().readers == 0


def test_reading_a_pipe_parks() -> None:
    ticks, t = ticking()
    late_print = "import time; time.sleep(0.2); print('x')"
    with gsub.Popen([PY, "-c", late_print], stdout=gsub.PIPE, text=True) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "x\n"
    assert any(state.parked for state in ticks)  # it ticked while readline waited
    assert proc.returncode == 0
    t.wait()


def test_nothing_patched() -> None:
    assert subprocess.Popen is not gsub.Popen and issubclass(gsub.Popen, subprocess.Popen)


def test_timeout_carries_the_partial_output_and_the_with_block_closes_cleanly() -> None:
    script = "import sys, time; sys.stdout.write('BDFL'); sys.stdout.flush(); time.sleep(30)"
    with pytest.raises(subprocess.TimeoutExpired) as info:
        gsub.check_output([PY, "-c", script], timeout=0.5)  # run() kills, waits and closes the pipe
    assert info.value.output == b"BDFL"
    assert greenlane.get_hub().statistics().readers == 0


def test_a_large_buffer_holds_writes_until_close() -> None:
    proc = gsub.Popen([PY, "-c", "pass"], stdin=gsub.PIPE, bufsize=1 << 20)
    assert proc.stdin is not None
    proc.stdin.write(b"x" * 200_000)  # buffered, as with the stdlib: nothing reaches the pipe yet
    proc.wait()
    with pytest.raises(BrokenPipeError):
        proc.stdin.close()


def test_a_green_pipe_handed_to_the_next_process_is_made_blocking_for_it() -> None:
    first = gsub.Popen([PY, "-c", "import time; time.sleep(0.1); print('piped')"], stdout=gsub.PIPE)
    assert first.stdout is not None
    second = gsub.Popen([PY, "-c", "import sys; print(sys.stdin.read().upper())"], stdin=first.stdout,
                        stdout=gsub.PIPE)
    first.stdout.close()
    out, _ = second.communicate(timeout=30)
    first.wait()
    assert out == b"PIPED\n\n" and second.returncode == 0


def _exited(proc: gsub.Popen) -> None:
    """Block until ``proc`` has exited, without reaping it."""
    os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)


def test_wait_with_zero_timeout_returns_the_status_of_an_exited_child() -> None:
    # The waiter reaped the child in the pass the zero timeout fired: the status was dropped,
    # TimeoutExpired raised, and the next wait() reported 0.
    proc = gsub.Popen(["sh", "-c", "exit 3"])
    _exited(proc)
    assert proc.wait(timeout=0) == 3
    assert proc.returncode == 3


def _gate_blocking_waitpid(monkeypatch: pytest.MonkeyPatch) -> greenlane.event.Event[None]:
    """Make a blocking ``os.waitpid`` wait for the returned event first (WNOHANG calls pass)."""
    real_waitpid = os.waitpid
    reap: greenlane.event.Event[None] = greenlane.event.Event()

    def waitpid(pid: int, flags: int) -> tuple[int, int]:
        if not flags & os.WNOHANG:
            reap.wait()
        return real_waitpid(pid, flags)

    monkeypatch.setattr(os, "waitpid", waitpid)
    return reap


def test_a_child_reaped_in_the_pass_its_wait_times_out_keeps_its_status(
    virtual_clock: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    reap = _gate_blocking_waitpid(monkeypatch)
    proc = gsub.Popen(["sh", "-c", "exit 3"])
    _exited(proc)
    # Set first, so it fires first at the same deadline: the waiter reaps, then the wait times out.
    greenlane.get_hub().call_later(1.0, reap.send)
    assert proc.wait(timeout=1.0) == 3
    assert proc.returncode == 3


def test_a_poll_between_the_reap_and_the_waiting_thread_keeps_the_status(
    virtual_clock: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    # wait(timeout)'s helper reaped the child and handed the status back; a poll() that ran
    # before the waiting thread resumed found the child gone and set returncode 0 for good.
    reap = _gate_blocking_waitpid(monkeypatch)
    proc = gsub.Popen(["sh", "-c", "exit 3"])
    _exited(proc)
    polled: list[int | None] = []

    def poller() -> None:
        reap.wait()  # woken right after the helper, before the waiting thread
        polled.append(proc.poll())

    hub = greenlane.get_hub()
    spawned: list[greenlane.GreenThread[None]] = []
    hub.call_later(0.5, lambda: spawned.append(greenlane.spawn(poller)))  # parks after the helper
    hub.call_later(1.0, reap.send)
    assert proc.wait(timeout=10) == 3
    spawned[0].wait()
    assert polled == [3]
