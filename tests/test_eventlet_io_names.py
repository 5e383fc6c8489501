"""eventlet's small I/O helpers and behaviours that its users (and its own tests) rely on."""

from __future__ import annotations

import array
import errno
import os
import socket as std_socket
from pathlib import Path

import pytest

import greenlane
from greenlane import greenio
from greenlane.green import select as gselect
from greenlane.green import socket as gsocket

pytestmark = pytest.mark.usefixtures("no_fd_or_registration_left")


def test_a_green_thread_is_false_once_it_has_ended_and_true_before() -> None:
    gt = greenlane.spawn(greenlane.sleep, 0)
    assert gt, "a thread not yet started is truthy (so `if gt:` right after spawn holds)"
    gt.wait()
    assert not gt and gt.dead
    killed = greenlane.spawn_after(10, lambda: None)
    assert killed
    killed.kill()
    assert not killed


def test_recv_of_nothing_with_a_timeout_waits_for_data_as_the_stdlib_does() -> None:
    a, b = gsocket.socketpair()
    with a, b:
        a.settimeout(0.05)
        with pytest.raises(TimeoutError, match="timed out"):
            a.recv(0)
        with pytest.raises(TimeoutError, match="timed out"):
            a.recv_into(array.array("B"))
        b.sendall(b"x")
        assert a.recv(0) == b""  # readable now: returns at once, consuming nothing
        assert a.recv(1) == b"x"
        a.settimeout(None)
        assert a.recv(0) == b""  # without a timeout the stdlib does not wait either


def test_fd_is_the_green_socket_itself() -> None:
    with gsocket.socket() as sock:
        assert sock.fd is sock
        assert not os.get_blocking(sock.fd.fileno())


def test_shutdown_safe_ignores_a_closed_or_unconnected_socket_but_not_other_errors() -> None:
    sock = gsocket.socket(std_socket.AF_INET, std_socket.SOCK_DGRAM)
    sock.close()
    assert greenio.shutdown_safe(sock) is None
    with gsocket.socket() as unconnected:
        assert greenio.shutdown_safe(unconnected) is None

    class Refusing:
        def shutdown(self, how: int) -> None:
            raise OSError(errno.EIO, "I/O error")

    with pytest.raises(OSError, match="I/O error"):
        greenio.shutdown_safe(Refusing())


def test_set_nonblocking_takes_an_fd_or_a_file(tmp_path: Path) -> None:
    r, w = os.pipe()
    try:
        greenio.set_nonblocking(r)
        assert not os.get_blocking(r)
        with open(w, "wb", closefd=False) as f:
            greenio.set_nonblocking(f)
        assert not os.get_blocking(w)
    finally:
        os.close(r)
        os.close(w)


def test_green_pipe_truncates(tmp_path: Path) -> None:
    f = greenio.GreenPipe(str(tmp_path / "file"), "wb+", 1024)
    try:
        f.write(b"1234567890")
        assert f.truncate(9) == 9
        assert f.tell() == 9
        f.seek(0)
        assert f.read() == b"123456789"
    finally:
        f.close()
    reader = greenio.GreenPipe(str(tmp_path / "file"), "rb", 0)
    try:
        with pytest.raises(OSError, match="not open for writing"):
            reader.truncate(1)
    finally:
        reader.close()


def test_get_fileno() -> None:
    class HasFileno:
        def fileno(self) -> object:
            return self.value

        value: object = 123

    assert gselect.get_fileno(7) == 7
    assert gselect.get_fileno(HasFileno()) == 123
    with pytest.raises(TypeError, match="Expected int or long, got <class 'str'>"):
        gselect.get_fileno("foo")
    bad = HasFileno()
    bad.value = "foo"
    with pytest.raises(TypeError, match="Expected int or long, got <class 'str'>"):
        gselect.get_fileno(bad)


@pytest.mark.skipif(not hasattr(os, "readinto"), reason="os.readinto is new in Python 3.14")
def test_green_os_readinto_parks_until_data_arrive() -> None:
    from greenlane.green import os as gos

    r, w = os.pipe()
    try:
        buffer = bytearray(8)
        reader = greenlane.spawn(gos.readinto, r, buffer)
        greenlane.sleep(0)
        assert not reader.dead  # parked on the empty pipe: the hub went on
        os.write(w, b"abc")
        assert reader.wait() == 3 and bytes(buffer[:3]) == b"abc"
    finally:
        os.close(r)
        os.close(w)
