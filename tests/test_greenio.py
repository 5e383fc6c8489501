"""greenlane.greenio: GreenPipe over OS pipes and files, GreenSocket, shutdown_safe; trampoline on an fd."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import socket
import time
from collections.abc import Iterator
from typing import Any

import greenlet
import pytest

import greenlane
from greenlane import greenio, hubs
from greenlane.green import socket as gsocket
from greenlane.greenio import GreenPipe
from greenlane.hubs import IOClosed, get_hub
from greenlane.testing import wait_until_parked
from helpers import run_script

# Bounds a wait that should end at once: reached only if something hangs.
HANG_GUARD = 10.0
# A short real-time timeout, long enough that nothing legitimate hits it early.
SHORT = 0.05


pytestmark = pytest.mark.usefixtures("no_fd_or_registration_left")


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    """An OS pipe; whichever end the test did not hand to a GreenPipe (or close) is closed after."""
    r, w = os.pipe()
    yield r, w
    for fd in (r, w):
        try:
            os.close(fd)
        except OSError:
            pass  # closed by its GreenPipe


# -- GreenPipe between green threads ------------------------------------------


def test_binary_pipe_between_green_threads(pipe: tuple[int, int]) -> None:
    r, w = pipe
    with GreenPipe(r, "rb") as reader, GreenPipe(w, "wb") as writer:
        assert not os.get_blocking(r) and not os.get_blocking(w)
        gt = greenlane.spawn(reader.read, 5)
        wait_until_parked(gt)
        assert get_hub().statistics().readers == 1
        writer.write(b"hello")
        writer.flush()
        assert gt.wait() == b"hello"


def test_text_pipe_lines(pipe: tuple[int, int]) -> None:
    r, w = pipe
    with GreenPipe(r, "r") as reader, GreenPipe(w, "w") as writer:

        main = greenlet.getcurrent()

        def produce() -> None:
            for i in range(3):
                wait_until_parked(main)  # each line reaches a reader already waiting
                writer.write(f"line {i}\n")
                writer.flush()
            writer.close()

        gt = greenlane.spawn(produce)
        assert list(reader) == ["line 0\n", "line 1\n", "line 2\n"]  # ends at the writer's close
        gt.wait()


def test_line_buffered_text_pipe_flushes_each_line(pipe: tuple[int, int]) -> None:
    r, w = pipe
    with GreenPipe(r, "r") as reader, GreenPipe(w, "w", 1) as writer:
        gt = greenlane.spawn(reader.readline)
        wait_until_parked(gt)
        writer.write("no flush needed\n")
        assert gt.wait() == "no flush needed\n"


def test_more_than_a_pipe_holds(pipe: tuple[int, int]) -> None:
    """The writer parks whenever the pipe is full; the reader drains it; nothing is lost."""
    r, w = pipe
    payload = os.urandom(4 * 1024 * 1024)
    with GreenPipe(r, "rb") as reader, GreenPipe(w, "wb") as writer:

        def produce() -> None:
            writer.write(payload)
            writer.close()

        gt = greenlane.spawn(produce)
        digest = hashlib.sha256()
        while chunk := reader.read(65536):
            digest.update(chunk)
        gt.wait()
    assert digest.hexdigest() == hashlib.sha256(payload).hexdigest()


def test_unbuffered_pipe_is_raw(pipe: tuple[int, int]) -> None:
    r, w = pipe
    with GreenPipe(r, "rb", 0) as reader, GreenPipe(w, "wb", 0) as writer:
        assert isinstance(reader, greenio.GreenFileIO)
        assert repr(reader) == f"<GreenFileIO fd={r}>"
        assert reader.readable() and not reader.writable()
        assert writer.writable() and not writer.readable()
        assert not reader.isatty()
        assert not reader.seekable()
        gt = greenlane.spawn(reader.read, 100)
        wait_until_parked(gt)
        assert writer.write(b"raw") == 3
        assert gt.wait() == b"raw"
        buf = bytearray(10)
        writer.write(b"into")
        assert reader.readinto(buf) == 4
    assert repr(reader) == "<GreenFileIO closed>"
    with pytest.raises(ValueError, match="closed"):
        reader.fileno()
    with pytest.raises(ValueError, match="unbuffered"):
        GreenPipe(0, "r", 0)


def test_end_of_file_and_broken_pipe(pipe: tuple[int, int]) -> None:
    r, w = pipe
    reader = GreenPipe(r, "rb", 0)
    writer = GreenPipe(w, "wb", 0)
    gt = greenlane.spawn(reader.read, 10)
    wait_until_parked(gt)
    writer.close()
    assert gt.wait() == b""
    reader.close()
    r2, w2 = os.pipe()
    os.close(r2)
    with GreenPipe(w2, "wb", 0) as orphan, pytest.raises(BrokenPipeError):
        orphan.write(b"nobody reads")


def test_closing_a_raw_pipe_wakes_its_reader(pipe: tuple[int, int]) -> None:
    r, _ = pipe
    reader = GreenPipe(r, "rb", 0)
    gt = greenlane.spawn(reader.read, 10)
    wait_until_parked(gt)
    reader.close()
    with pytest.raises(IOClosed) as info, greenlane.Timeout(HANG_GUARD):
        gt.wait()
    assert info.value.errno == errno.EBADF
    stats = get_hub().statistics()
    assert (stats.readers, stats.timers) == (0, 0)


@pytest.mark.xfail(
    strict=True,
    raises=RuntimeError,
    reason="io.Buffered* guard their buffer with a per-OS-thread lock: closing a buffered GreenPipe "
    "while another green thread reads it raises 'reentrant call' instead of waking the reader",
)
def test_closing_a_buffered_pipe_wakes_its_reader(pipe: tuple[int, int]) -> None:
    r, _ = pipe
    reader = GreenPipe(r, "rb")
    gt = greenlane.spawn(reader.read, 10)
    wait_until_parked(gt)
    try:
        reader.close()
        with pytest.raises(IOClosed):
            gt.wait()
    finally:
        if not gt.dead:  # leave the hub empty: wake the reader through the raw file
            reader.raw.close()
            with pytest.raises(IOClosed):
                gt.wait()
            reader.close()


def test_a_writer_parks_until_the_reader_drains(pipe: tuple[int, int]) -> None:
    r, w = pipe
    with GreenPipe(r, "rb", 0) as reader, GreenPipe(w, "wb", 0) as writer:
        capacity = 0
        os.set_blocking(w, False)
        try:
            while True:
                capacity += os.write(w, b"f" * 65536)
        except BlockingIOError:
            pass
        gt = greenlane.spawn(writer.write, b"more")
        wait_until_parked(gt)
        assert get_hub().statistics().writers == 1
        got = 0
        while got < capacity:
            got += len(reader.read(capacity - got))
        assert gt.wait() == 4
        assert reader.read(4) == b"more"


def test_green_pipe_from_a_file_object_duplicates_its_fd(pipe: tuple[int, int]) -> None:
    r, w = pipe
    with open(w, "wb", buffering=0, closefd=False) as plain:
        with GreenPipe(plain, "wb") as green:
            assert green.fileno() != w
            green.write(b"dup")
        assert not plain.closed
        plain.write(b"!")
    with GreenPipe(r, "rb") as reader:
        assert reader.read(4) == b"dup!"


def test_green_pipe_over_regular_files(tmp_path: Any) -> None:
    path = str(tmp_path / "regular")
    with GreenPipe(path, "w") as f:
        f.write("first line\nsecond line\n")
    with GreenPipe(path, "r") as f:
        assert f.readlines() == ["first line\n", "second line\n"]
    with GreenPipe(path, "r+b") as f:
        assert isinstance(f, io.BufferedRandom)
        assert f.read(5) == b"first"
        f.seek(0)
        f.write(b"FIRST")
    with GreenPipe(path, "ab") as f:
        f.write(b"appended\n")
    with open(path, "rb") as plain:
        assert plain.read() == b"FIRST line\nsecond line\nappended\n"
    with GreenPipe(path, "w") as f:
        f.write("truncated\n")
    with GreenPipe(path, "rb") as f:
        assert f.read() == b"truncated\n"
    with pytest.raises(FileExistsError):
        GreenPipe(path, "x")
    with GreenPipe(path, "rb", 0) as raw:
        assert raw.seekable()
        assert raw.seek(2) == 2
        assert raw.read(3) == b"unc"
        assert raw.tell() == 5


def test_green_pipe_rejects_a_bad_fd() -> None:
    with pytest.raises(ValueError, match="open fd"):
        greenio.GreenFileIO(-1)


def test_a_rejected_fd_leaves_nothing_for_the_finalizer() -> None:
    # IOBase's finalizer calls close() on the half-made object; what close() raises there is
    # reported as unraisable on 3.13+ always, on older Pythons in dev mode.
    proc = run_script(
        """
        import gc, os
        from greenlane import greenio

        r, w = os.pipe()
        os.close(r)  # r: a closed fd
        for bad, exc in ((-1, ValueError), ("3", ValueError), (r, OSError)):
            try:
                greenio.GreenFileIO(bad)
            except exc:
                pass
        gc.collect()
        print("done")
        """,
        env={"PYTHONDEVMODE": "1"},
    )
    assert (proc.returncode, proc.stdout) == (0, "done\n"), proc.stderr
    assert "Exception ignored" not in proc.stderr, proc.stderr


# -- trampoline on an arbitrary fd ------------------------------------------------


def test_trampoline_waits_for_a_pipe(pipe: tuple[int, int]) -> None:
    r, w = pipe
    gt = greenlane.spawn(hubs.trampoline, r, read=True, timeout=HANG_GUARD)
    wait_until_parked(gt)
    os.write(w, b"x")
    assert gt.wait() is None
    assert r not in get_hub().io.registered  # a plain wait keeps no registration


def test_trampoline_timeouts(pipe: tuple[int, int]) -> None:
    r, _ = pipe
    start = time.monotonic()
    with pytest.raises(greenlane.Timeout):
        hubs.trampoline(r, read=True, timeout=SHORT)
    assert SHORT * 0.9 <= time.monotonic() - start < HANG_GUARD
    with pytest.raises(TimeoutError, match="timed out"):
        hubs.trampoline(r, read=True, timeout=SHORT, timeout_exc=TimeoutError)
    with pytest.raises(ValueError, match="read=True or write=True"):
        hubs.trampoline(r)


def test_trampoline_wakes_with_io_closed_on_notify_close(pipe: tuple[int, int]) -> None:
    r, _ = pipe
    gt = greenlane.spawn(hubs.trampoline, r, read=True)
    wait_until_parked(gt)
    hubs.notify_close(r)
    with pytest.raises(IOClosed):
        gt.wait()


# -- GreenSocket, shutdown_safe, IOClosed ------------------------------------------


def test_eventlet_names() -> None:
    assert greenio.GreenSocket is gsocket.socket
    assert greenio.IOClosed is IOClosed
    assert issubclass(IOClosed, OSError)
    a, b = greenio.GreenSocket(socket.AF_INET, socket.SOCK_STREAM), greenio.GreenSocket()
    with a, b:
        assert greenio.shutdown_safe(a) is None  # not connected: ENOTCONN is ignored
    c, d = gsocket.socketpair()
    with c, d:
        greenio.shutdown_safe(c)
        assert d.recv(1) == b""
    closed = gsocket.socket()
    closed.close()
    assert greenio.shutdown_safe(closed) is None  # EBADF is ignored too, as eventlet's
