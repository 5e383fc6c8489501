"""greenlane.green.os: read/write park on the fd, waitpid parks on a pidfd (nothing patched)."""

from __future__ import annotations

import os
import sys
import threading

import greenlet
import pytest

import greenlane
from greenlane.green import os as gos
from greenlane.testing import assert_parked


@pytest.mark.parametrize("blocking", [False, True])
def test_read_parks_until_data_arrives(blocking: bool) -> None:
    r, w = os.pipe()
    os.set_blocking(r, blocking)
    try:
        ran: list[int] = []
        greenlane.spawn_after(0.05, os.write, w, b"data")
        greenlane.spawn(lambda: ran.append(1))
        assert gos.read(r, 100) == b"data"
        assert ran == [1]  # another green thread ran while read waited
        os.close(w)
        assert gos.read(r, 100) == b""  # end of file
    finally:
        os.close(r)
        if not ran:
            os.close(w)


@pytest.mark.parametrize("blocking", [False, True])
def test_reading_zero_bytes_returns_at_once(blocking: bool) -> None:
    r, w = os.pipe()
    os.set_blocking(r, blocking)
    try:
        with greenlane.Timeout(5):  # the stdlib returns b"" without waiting for data
            assert gos.read(r, 0) == b""
    finally:
        os.close(r)
        os.close(w)


def test_write_parks_while_the_pipe_is_full() -> None:
    r, w = os.pipe()
    os.set_blocking(w, False)
    try:
        while True:  # fill it
            try:
                os.write(w, b"x" * 65536)
            except BlockingIOError:
                break
        drained: list[int] = []
        writer = greenlet.getcurrent()

        def drain() -> None:
            assert_parked(writer, reason=f"os.write fd {w}")  # the write found the pipe full
            drained.append(len(os.read(r, 1 << 20)))

        greenlane.spawn(drain)
        assert gos.write(w, b"more") == 4
        assert drained and drained[0] > 0
    finally:
        os.close(r)
        os.close(w)


def test_a_big_write_to_a_blocking_pipe_leaves_the_hub_to_its_reader() -> None:
    # A blocking fd polled writable took the whole write in one blocking call: past the
    # pipe's free space the OS thread blocked, and the green thread meant to read never ran.
    r, w = os.pipe()  # both blocking, as os.pipe() makes them
    total = 1 << 20
    done = threading.Event()
    rescued: list[bool] = []

    def rescue() -> None:  # the bug blocks the OS thread: drain natively, so the test fails, not hangs
        if not done.wait(10):
            rescued.append(True)
            left = total
            while left > 0:
                left -= len(os.read(r, left))

    got: list[int] = []

    def reader() -> None:
        while sum(got) < total:
            got.append(len(gos.read(r, 65536)))

    watchdog = threading.Thread(target=rescue)
    watchdog.start()
    try:
        t = greenlane.spawn(reader)
        written = gos.write(w, b"x" * total)
        done.set()
        watchdog.join()
        if rescued:
            t.kill()
            pytest.fail("the write blocked the OS thread: the green reader never ran")
        t.wait()
        assert written == total and sum(got) == total  # all of it, as the stdlib's blocking write
    finally:
        done.set()
        watchdog.join()
        os.close(r)
        os.close(w)


def test_waitpid_parks_without_polling() -> None:
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.read(go_r, 1)  # exits only once the parent saw its waitpid park
        os._exit(7)
    os.close(go_r)
    ticks: list[int] = []
    main = greenlet.getcurrent()

    def ticker() -> None:
        for _ in range(5):
            ticks.append(1)
            greenlane.sleep(0)
        assert_parked(main, reason=f"child process {pid}")  # on the pidfd, not polling
        os.write(go_w, b"x")

    t = greenlane.spawn(ticker)
    got_pid, status = gos.waitpid(pid, 0)
    assert got_pid == pid and os.waitstatus_to_exitcode(status) == 7
    assert len(ticks) == 5
    t.wait()
    with pytest.raises(ChildProcessError):
        gos.waitpid(pid, 0)
    assert greenlane.get_hub().statistics().readers == 0
    os.close(go_w)


def test_wait_for_any_child_goes_through_tpool() -> None:
    from greenlane import tpool

    pid = os.fork()
    if pid == 0:
        os._exit(3)
    try:
        got_pid, status = gos.wait()
        assert got_pid == pid and os.waitstatus_to_exitcode(status) == 3
    finally:
        tpool.killall()


def test_wnohang_never_waits() -> None:
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.read(go_r, 1)  # still running until the parent says so
        os._exit(0)
    os.close(go_r)
    assert gos.waitpid(pid, os.WNOHANG) == (0, 0)
    os.write(go_w, b"x")
    os.close(go_w)
    assert gos.waitpid(pid, 0)[0] == pid


def test_the_rest_is_the_stdlibs() -> None:
    assert gos.getpid is os.getpid and gos.path is os.path
    assert set(gos.__implements__) == {"read", "write", "waitpid", "wait"}
    assert sys.modules["os"].read is not gos.read  # nothing patched
