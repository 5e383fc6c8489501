"""greenlane.green.socket: every socket method over loopback and socketpairs, timeouts, close, DNS.

Real-time waits here are short (tens of milliseconds) and every bound is
generous: a hang shows up as a socket timeout of several seconds, not as a
stuck test run.
"""

from __future__ import annotations

import array
import errno
import gc
import hashlib
import io
import os
import socket
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import greenlet
import pytest

import greenlane
from greenlane import tpool
from greenlane._core import WaitState, wait_state
from greenlane.green import socket as gsocket
from greenlane.hubs import IOClosed, get_hub
from greenlane.testing import wait_until, wait_until_parked
from greenlane.tpool import _tls
from helpers import run_script

# Bounds a wait that should end at once: reached only if something hangs.
HANG_GUARD = 10.0
# A short real-time timeout, long enough that nothing legitimate hits it early.
SHORT = 0.05
# A payload far bigger than any socket buffer, so senders must park repeatedly.
BIG = 10 * 1024 * 1024
# Addresses reserved for documentation (RFC 5737): nothing ever answers there.
TEST_NET = "192.0.2.1"


pytestmark = pytest.mark.usefixtures("no_fd_or_registration_left")


def tcp_pair() -> tuple[gsocket.socket, gsocket.socket]:
    """A connected (client, server-side) pair of green TCP sockets on 127.0.0.1."""
    with gsocket.create_server(("127.0.0.1", 0)) as server:
        client = gsocket.socket(socket.AF_INET, socket.SOCK_STREAM)
        client.settimeout(HANG_GUARD)
        client.connect(server.getsockname())
        conn, _ = server.accept()
    conn.settimeout(HANG_GUARD)
    return client, conn


def udp_pair() -> tuple[gsocket.socket, gsocket.socket]:
    """Two green UDP sockets on 127.0.0.1 (unconnected)."""
    a = gsocket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b = gsocket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for s in (a, b):
        s.bind(("127.0.0.1", 0))
        s.settimeout(HANG_GUARD)
    return a, b


def fill(sock: gsocket.socket) -> int:
    """Send until the kernel buffers are full (the socket is left as it was); bytes queued."""
    timeout = sock.gettimeout()
    sock.setblocking(False)
    total = 0
    try:
        while True:
            total += sock.send(b"x" * 65536)
    except BlockingIOError:
        pass
    finally:
        sock.settimeout(timeout)
    return total


def drain(sock: gsocket.socket, nbytes: int) -> bytes:
    """Receive exactly ``nbytes``."""
    chunks = []
    while nbytes:
        chunk = sock.recv(min(nbytes, 1 << 20))
        assert chunk, "unexpected end of stream"
        chunks.append(chunk)
        nbytes -= len(chunk)
    return b"".join(chunks)


# -- the module and the class ---------------------------------------------


def test_module_replaces_what_it_declares_and_falls_through() -> None:
    assert set(gsocket.__implements__) >= {"socket", "socketpair", "create_connection", "getaddrinfo"}
    assert gsocket.AF_INET is socket.AF_INET
    assert gsocket.timeout is socket.timeout is TimeoutError
    assert gsocket.gaierror is socket.gaierror
    assert gsocket.SocketType is gsocket.socket
    assert issubclass(gsocket.socket, socket.socket)
    with pytest.raises(AttributeError):
        gsocket.no_such_name  # noqa: B018


def test_the_fd_is_non_blocking_whatever_the_user_timeout() -> None:
    a, b = gsocket.socketpair()
    with a, b:
        for value in (None, 0.0, 3.0):
            a.settimeout(value)
            assert not os.get_blocking(a.fileno())
            assert a.gettimeout() == a.timeout == value


@pytest.mark.parametrize(
    ("call", "args"),
    [
        ("settimeout", (None,)),
        ("settimeout", (0,)),
        ("settimeout", (0.0,)),
        ("settimeout", (2,)),
        ("settimeout", (2.5,)),
        ("setblocking", (True,)),
        ("setblocking", (False,)),
        ("setblocking", (0,)),
        ("setblocking", (1,)),
    ],
)
def test_timeout_accessors_mean_what_the_stdlib_says(call: str, args: tuple[Any, ...]) -> None:
    std = socket.socket()
    green = gsocket.socket()
    with std, green:
        getattr(std, call)(*args)
        getattr(green, call)(*args)
        assert green.gettimeout() == std.gettimeout()
        assert type(green.gettimeout()) is type(std.gettimeout())
        assert green.getblocking() == std.getblocking()


@pytest.mark.parametrize(("value", "error"), [(-1, ValueError), (float("nan"), ValueError), ("1", TypeError)])
def test_bad_timeouts_are_refused_as_the_stdlib_does(value: Any, error: type[Exception]) -> None:
    std = socket.socket()
    green = gsocket.socket()
    with std, green:
        with pytest.raises(error):
            std.settimeout(value)
        with pytest.raises(error):
            green.settimeout(value)


def test_new_sockets_take_the_default_timeout() -> None:
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(4.0)
    try:
        with gsocket.socket() as s:
            assert s.gettimeout() == 4.0
    finally:
        socket.setdefaulttimeout(old)
    with gsocket.socket() as s:
        assert s.gettimeout() is None


# -- non-blocking mode: BlockingIOError, as the stdlib -------------------


def test_non_blocking_mode_raises_blocking_io_error() -> None:
    a, b = gsocket.socketpair()
    u1, u2 = udp_pair()
    with a, b, u1, u2, gsocket.create_server(("127.0.0.1", 0)) as server:
        for s in (a, u1, server):
            s.setblocking(False)
        with pytest.raises(BlockingIOError):
            a.recv(1)
        with pytest.raises(BlockingIOError):
            a.recv_into(bytearray(1))
        with pytest.raises(BlockingIOError):
            a.recvmsg(1)
        with pytest.raises(BlockingIOError):
            u1.recvfrom(1)
        with pytest.raises(BlockingIOError):
            u1.recvfrom_into(bytearray(1))
        with pytest.raises(BlockingIOError):
            server.accept()
        queued = fill(a)
        with pytest.raises(BlockingIOError):
            a.send(b"y")
        with pytest.raises(BlockingIOError):
            a.sendall(b"y" * 65536)
        with pytest.raises(BlockingIOError):
            a.sendmsg([b"y" * 65536])
        assert queued > 0
        stats = get_hub().statistics()
        assert (stats.readers, stats.writers, stats.timers) == (0, 0, 0)


def test_non_blocking_connect_is_in_progress() -> None:
    with gsocket.create_server(("127.0.0.1", 0)) as server, gsocket.socket() as c1, gsocket.socket() as c2:
        c1.setblocking(False)
        c2.setblocking(False)
        try:
            c1.connect(server.getsockname())
        except BlockingIOError as exc:
            assert exc.errno == errno.EINPROGRESS
        assert c2.connect_ex(server.getsockname()) in (0, errno.EINPROGRESS)


# -- connecting and accepting ---------------------------------------------


def test_accept_and_connect_over_loopback() -> None:
    with gsocket.create_server(("127.0.0.1", 0)) as server:
        address = server.getsockname()

        def client() -> bytes:
            with gsocket.socket() as c:
                c.connect(address)
                c.sendall(b"hello")
                return c.recv(10)

        gt = greenlane.spawn(client)
        conn, peer = server.accept()
        with conn:
            assert isinstance(conn, gsocket.socket)
            assert peer[0] == "127.0.0.1"
            assert conn.recv(10) == b"hello"
            conn.sendall(b"world")
        assert gt.wait() == b"world"


def test_accept_waits_only_its_green_thread() -> None:
    with gsocket.create_server(("127.0.0.1", 0)) as server:
        gt = greenlane.spawn(server.accept)
        wait_until_parked(gt)
        with gsocket.create_connection(server.getsockname()):
            conn, _ = gt.wait()
            conn.close()


@pytest.mark.parametrize("listener_timeout", [None, 0.0, 5.0])
def test_accepted_socket_timeout_follows_the_stdlib(listener_timeout: float | None) -> None:
    expected = []
    for module in (socket, gsocket):
        with module.create_server(("127.0.0.1", 0)) as server, socket.socket() as client:
            client.connect(server.getsockname())  # queued by the kernel: accept() will not wait
            server.settimeout(listener_timeout)
            conn, _ = server.accept()
            with conn:
                expected.append((conn.gettimeout(), conn.getblocking()))
    assert expected[0] == expected[1]


def test_connect_ex_returns_the_errno() -> None:
    with gsocket.create_server(("127.0.0.1", 0)) as server, gsocket.socket() as c:
        assert c.connect_ex(server.getsockname()) == 0
        conn, _ = server.accept()
        conn.close()
    with socket.socket() as unused, gsocket.socket() as c:
        unused.bind(("127.0.0.1", 0))  # bound, not listening: the kernel refuses
        assert c.connect_ex(unused.getsockname()) == errno.ECONNREFUSED


def test_refused_connection_raises_connection_refused() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        address = unused.getsockname()
        with gsocket.socket() as c, pytest.raises(ConnectionRefusedError):
            c.connect(address)
        with pytest.raises(ConnectionRefusedError):
            gsocket.create_connection(address, timeout=HANG_GUARD)
    stats = get_hub().statistics()
    assert (stats.writers, stats.timers) == (0, 0)


@pytest.fixture
def full_listener() -> Iterator[tuple[str, int]]:
    """A loopback address whose listen queue is full: the kernel drops further SYNs, so connects hang."""
    with socket.socket() as server, socket.socket() as first:
        server.bind(("127.0.0.1", 0))
        server.listen(0)  # Linux queues one connection for a backlog of 0
        first.connect(server.getsockname())
        yield server.getsockname()


def test_connect_times_out(full_listener: tuple[str, int]) -> None:
    start = time.monotonic()
    with gsocket.socket() as c:
        c.settimeout(0.2)
        with pytest.raises(TimeoutError, match="timed out"):
            c.connect(full_listener)
    assert 0.2 * 0.9 <= time.monotonic() - start < HANG_GUARD
    with pytest.raises(TimeoutError):
        gsocket.create_connection(full_listener, timeout=SHORT)
    with gsocket.socket() as c:
        c.settimeout(SHORT)
        assert c.connect_ex(full_listener) == errno.EAGAIN  # the stdlib's errno for a timed-out connect_ex
    stats = get_hub().statistics()
    assert (stats.writers, stats.timers) == (0, 0)


def test_connect_waits_only_its_green_thread(full_listener: tuple[str, int]) -> None:
    main = greenlet.getcurrent()
    seen: list[WaitState] = []
    other = greenlane.spawn(lambda: seen.append(wait_state(main)))  # runs while main connects
    with gsocket.socket() as c:
        c.settimeout(0.2)
        with pytest.raises(TimeoutError):
            c.connect(full_listener)
    other.wait()
    # Parked on the connect (or, on a machine slow enough, already timed out of it).
    assert seen[0].state in ("parked", "timed out") and seen[0].reason.startswith("socket: conn"), seen


@pytest.mark.parametrize("address", [(TEST_NET, 80), ("2001:db8::1", 80)])
def test_unreachable_address_gives_the_stdlib_error(address: tuple[str, int]) -> None:
    """Whatever this network does with a documentation address, the green socket reports the same."""
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET

    def attempt(module: Any) -> type[BaseException] | None:
        try:
            with module.socket(family, socket.SOCK_STREAM) as c:
                c.settimeout(0.2)
                c.connect(address)
        except OSError as exc:
            return type(exc)
        return None

    expected = attempt(socket)
    if expected is None:
        pytest.skip(f"{address[0]} answers on this network (a transparent proxy?)")
    got = attempt(gsocket)
    assert got is not None and issubclass(got, OSError)
    if got is not expected:
        # Two real attempts: when the network answers close to the timeout, one of
        # them may time out and the other get the answer. Nothing else may differ.
        assert TimeoutError in (expected, got), (expected, got)
    stats = get_hub().statistics()
    assert (stats.writers, stats.timers) == (0, 0)


def test_unix_connect_to_a_full_backlog_waits_as_the_stdlib(tmp_path: Any) -> None:
    """The kernel says EAGAIN at once; a blocking stdlib connect would wait, so the green one retries."""
    path = str(tmp_path / "sock")
    with gsocket.socket(socket.AF_UNIX) as server, gsocket.socket(socket.AF_UNIX) as queued:
        server.bind(path)
        server.listen(0)
        queued.connect(path)  # fills the backlog
        with gsocket.socket(socket.AF_UNIX) as late:
            late.settimeout(SHORT)
            with pytest.raises(TimeoutError):
                late.connect(path)
        with gsocket.socket(socket.AF_UNIX) as late:
            late.setblocking(False)
            with pytest.raises(BlockingIOError):
                late.connect(path)
        with gsocket.socket(socket.AF_UNIX) as late:
            gt = greenlane.spawn(late.connect, path)
            wait_until_parked(gt)
            conn, _ = server.accept()  # makes room
            conn.close()
            assert gt.wait() is None
            conn, _ = server.accept()
            conn.close()
    stats = get_hub().statistics()
    assert (stats.writers, stats.timers) == (0, 0)


# -- receiving and sending ------------------------------------------------


@pytest.mark.parametrize("method", ["recv", "recv_into", "recvmsg", "recvmsg_into", "makefile"])
def test_stream_receive_parks_until_data(method: str) -> None:
    a, b = gsocket.socketpair()
    with a, b:
        b.settimeout(HANG_GUARD)

        def receive() -> bytes:
            if method == "recv":
                return b.recv(100)
            if method == "recv_into":
                buf = bytearray(100)
                n = b.recv_into(buf)
                return bytes(buf[:n])
            if method == "recvmsg":
                data, anc, flags, _ = b.recvmsg(100)
                assert (anc, flags) == ([], 0)
                return data
            if method == "recvmsg_into":
                first, second = bytearray(2), bytearray(98)
                n, _, _, _ = b.recvmsg_into([first, second])
                return bytes(first + second)[:n]
            with b.makefile("rb") as f:
                return f.read(5)

        gt = greenlane.spawn(receive)
        wait_until_parked(gt)
        assert get_hub().statistics().readers == 1
        a.sendall(b"hello")
        assert gt.wait() == b"hello"


def test_msg_dontwait_on_a_blocking_socket_does_not_wait() -> None:
    std_a, std_b = socket.socketpair()
    with std_a, std_b, pytest.raises(BlockingIOError):
        std_b.recv(1, socket.MSG_DONTWAIT)
    a, b = gsocket.socketpair()
    with a, b, greenlane.Timeout(SHORT):
        for call in (
            lambda: b.recv(1, socket.MSG_DONTWAIT),
            lambda: b.recv_into(bytearray(1), 1, socket.MSG_DONTWAIT),
            lambda: b.recvfrom(1, socket.MSG_DONTWAIT),
            lambda: b.recvmsg(1, 0, socket.MSG_DONTWAIT),
        ):
            with pytest.raises(BlockingIOError):
                call()
        a.sendall(b"x")
        assert b.recv(1, socket.MSG_DONTWAIT) == b"x"


@pytest.mark.parametrize("method", ["recv", "recv_into"])
def test_reads_after_a_read_that_waited_keep_the_stdlib_meaning(method: str) -> None:
    """Once a read had to wait, the next may park before reading: modes and timeouts still hold."""
    a, b = gsocket.socketpair()
    with a, b:

        def read(n: int, flags: int = 0) -> bytes:
            if method == "recv":
                return b.recv(n, flags)
            buf = bytearray(n)
            got = b.recv_into(buf, n, flags)
            return bytes(buf[:got])

        def waited_read() -> None:
            gt = greenlane.spawn(read, 1)
            wait_until_parked(gt)
            a.sendall(b"w")
            assert gt.wait() == b"w"

        waited_read()
        a.sendall(b"queued")
        assert read(100) == b"queued"  # data already there: returned, not lost
        waited_read()
        b.settimeout(SHORT)
        with pytest.raises(TimeoutError):
            read(1)
        b.settimeout(HANG_GUARD)
        waited_read()
        b.setblocking(False)
        with pytest.raises(BlockingIOError):
            read(1)
        b.setblocking(True)
        waited_read()
        with pytest.raises(BlockingIOError):
            read(1, socket.MSG_DONTWAIT)
        a.sendall(b"x" * 200)
        assert read(100) == b"x" * 100  # a full read...
        assert read(100) == b"x" * 100  # ...and the rest, at once
        a.shutdown(socket.SHUT_WR)
        assert read(1) == b""
        stats = get_hub().statistics()
        assert (stats.readers, stats.timers) == (0, 0)


def test_recv_into_with_nbytes_and_flags() -> None:
    a, b = gsocket.socketpair()
    with a, b:
        a.sendall(b"abcdef")
        buf = bytearray(10)
        assert b.recv(3, socket.MSG_PEEK) == b"abc"
        assert b.recv_into(buf, 2) == 2
        assert bytes(buf[:2]) == b"ab"
        assert b.recv_into(memoryview(buf)[2:]) == 4
        assert bytes(buf[:6]) == b"abcdef"


def test_datagrams_recvfrom_and_sendto() -> None:
    a, b = udp_pair()
    with a, b:
        gt = greenlane.spawn(b.recvfrom, 100)
        wait_until_parked(gt)
        assert a.sendto(b"one", b.getsockname()) == 3
        assert gt.wait() == (b"one", a.getsockname())

        buf = bytearray(100)
        gt2 = greenlane.spawn(b.recvfrom_into, buf)
        wait_until_parked(gt2)
        assert a.sendto(b"two", 0, b.getsockname()) == 3  # the (data, flags, address) form
        assert gt2.wait() == (3, a.getsockname())
        assert bytes(buf[:3]) == b"two"

        a.sendto(b"three", b.getsockname())
        nbytes, address = b.recvfrom_into(buf, 2)
        assert (nbytes, address, bytes(buf[:2])) == (2, a.getsockname(), b"th")


def test_sendmsg_and_recvmsg_carry_ancillary_data() -> None:
    a, b = gsocket.socketpair()
    r, w = os.pipe()
    try:
        with a, b:
            fds = array.array("i", [w])
            gt = greenlane.spawn(b.recvmsg, 100, socket.CMSG_SPACE(fds.itemsize))
            wait_until_parked(gt)
            sent = a.sendmsg([b"fd ", b"follows"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
            assert sent == 10
            data, ancdata, flags, _ = gt.wait()
            assert data == b"fd follows"
            assert flags == 0
            [(level, kind, payload)] = ancdata
            assert (level, kind) == (socket.SOL_SOCKET, socket.SCM_RIGHTS)
            received = array.array("i")
            received.frombytes(payload[: fds.itemsize])
            try:
                os.write(received[0], b"via the passed fd")
                assert os.read(r, 100) == b"via the passed fd"
            finally:
                os.close(received[0])
    finally:
        os.close(r)
        os.close(w)


def test_sendmsg_to_an_address() -> None:
    a, b = udp_pair()
    with a, b:
        assert a.sendmsg([b"da", b"ta"], [], 0, b.getsockname()) == 4
        assert b.recvfrom(10) == (b"data", a.getsockname())


def test_send_parks_while_the_buffer_is_full() -> None:
    a, b = gsocket.socketpair()
    with a, b:
        queued = fill(a)
        gt = greenlane.spawn(a.send, b"last")
        wait_until_parked(gt)
        assert get_hub().statistics().writers == 1
        drain(b, queued)
        assert gt.wait() == 4
        assert b.recv(10) == b"last"


def test_sendall_and_recv_10_mb_integrity_over_tcp() -> None:
    payload = os.urandom(BIG)
    client, conn = tcp_pair()
    with client, conn:

        def receive() -> str:
            digest = hashlib.sha256()
            buf = bytearray(256 * 1024)
            got = 0
            while got < BIG:
                n = conn.recv_into(buf)
                assert n, "early end of stream"
                digest.update(memoryview(buf)[:n])
                got += n
            return digest.hexdigest()

        gt = greenlane.spawn(receive)
        client.sendall(payload)
        assert gt.wait() == hashlib.sha256(payload).hexdigest()


def test_sendall_accepts_any_buffer() -> None:
    a, b = gsocket.socketpair()
    with a, b:
        a.sendall(memoryview(b"abcdef")[1:4])
        a.sendall(array.array("h", [1, 2]))
        assert drain(b, 7) == b"bcd" + array.array("h", [1, 2]).tobytes()


def test_reader_and_writer_share_one_socket() -> None:
    """Full duplex: one green thread reads a socket while another writes it."""
    client, conn = tcp_pair()
    with client, conn:
        size = 2 * 1024 * 1024
        reader = greenlane.spawn(drain, client, size)
        writer = greenlane.spawn(client.sendall, b"c" * size)
        conn.sendall(b"s" * size)
        assert drain(conn, size) == b"c" * size
        writer.wait()
        assert reader.wait() == b"s" * size


def test_a_second_reader_of_one_socket_is_refused_clearly() -> None:
    a, b = gsocket.socketpair()
    with a, b:
        first = greenlane.spawn(b.recv, 10)
        wait_until_parked(first)
        with pytest.raises(RuntimeError, match="already has a green thread waiting to read"):
            b.recv(10)
        a.sendall(b"x")
        assert first.wait() == b"x"


# -- sendfile ---------------------------------------------------------------


def test_sendfile_sends_a_file_in_parks(tmp_path: Any) -> None:
    data = os.urandom(3 * 1024 * 1024)  # more than the buffers hold: sendfile must park
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    client, conn = tcp_pair()
    with client, conn, open(path, "rb") as f:
        gt = greenlane.spawn(drain, conn, len(data))
        assert client.sendfile(f) == len(data)
        assert f.tell() == len(data)
        assert gt.wait() == data


def test_sendfile_offset_and_count(tmp_path: Any) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(bytes(range(256)) * 4)
    a, b = gsocket.socketpair()
    with a, b, open(path, "rb") as f:
        assert a.sendfile(f, 10, 20) == 20
        assert f.tell() == 30
        assert drain(b, 20) == (bytes(range(256)) * 4)[10:30]


def test_sendfile_falls_back_to_send_for_non_files() -> None:
    a, b = gsocket.socketpair()
    with a, b:
        assert a.sendfile(io.BytesIO(b"not a real file")) == 15
        assert drain(b, 15) == b"not a real file"


def test_sendfile_refuses_non_blocking_sockets_as_the_stdlib(tmp_path: Any) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(b"some data")
    a, b = gsocket.socketpair()
    with a, b, open(path, "rb") as f:
        a.setblocking(False)
        with pytest.raises(ValueError, match="non-blocking"):
            a.sendfile(f)


def test_sendfile_of_empty_file(tmp_path: Any) -> None:
    path = tmp_path / "empty"
    path.write_bytes(b"")
    a, b = gsocket.socketpair()
    with a, b, open(path, "rb") as f:
        assert a.sendfile(f) == 0


# -- makefile ---------------------------------------------------------------


def test_makefile_binary_read_write() -> None:
    a, b = gsocket.socketpair()
    with a, b, a.makefile("wb") as w, b.makefile("rb") as r:
        gt = greenlane.spawn(r.readline)
        wait_until_parked(gt)
        w.write(b"line one\nline two\n")
        w.flush()
        assert gt.wait() == b"line one\n"
        assert r.readline() == b"line two\n"
        w.write(b"tail")
        w.close()
        a.shutdown(socket.SHUT_WR)
        assert r.read() == b"tail"


def test_makefile_text_mode() -> None:
    a, b = gsocket.socketpair()
    with a, b, a.makefile("w", encoding="utf-8", newline="\r\n") as w, b.makefile(
        "r", encoding="utf-8", newline=""
    ) as r:
        gt = greenlane.spawn(r.readline)
        wait_until_parked(gt)
        w.write("héllo\n")
        w.flush()
        assert gt.wait() == "héllo\r\n"


def test_makefile_rw_unbuffered_and_timeout() -> None:
    a, b = gsocket.socketpair()
    with a, b, b.makefile("rwb", buffering=0) as f:
        a.sendall(b"ping")
        assert f.read(4) == b"ping"
        f.write(b"pong")
        assert a.recv(4) == b"pong"
        b.settimeout(SHORT)
        with pytest.raises(TimeoutError):
            f.read(1)


def test_makefile_keeps_the_fd_open_until_closed() -> None:
    a, b = gsocket.socketpair()
    with a:
        f = b.makefile("rb")
        fd = b.fileno()
        b.close()  # the file still refers to it: the stdlib closes only when both are closed
        a.sendall(b"still open")
        assert f.read(10) == b"still open"
        os.fstat(fd)  # still open
        f.close()
        assert b.fileno() == -1


# -- shutdown, dup, detach, fileno, socketpair, fromfd ------------------------


def test_half_close() -> None:
    client, conn = tcp_pair()
    with client, conn:
        gt = greenlane.spawn(conn.recv, 10)
        wait_until_parked(gt)
        client.shutdown(socket.SHUT_WR)
        assert gt.wait() == b""
        conn.sendall(b"after half-close")  # the other direction still works
        assert drain(client, 16) == b"after half-close"
        with pytest.raises(BrokenPipeError):
            client.send(b"x")


def test_shut_rd_and_rdwr() -> None:
    a, b = gsocket.socketpair()
    with a, b:
        b.shutdown(socket.SHUT_RD)
        assert b.recv(10) == b""
        b.shutdown(socket.SHUT_RDWR)
        assert a.recv(10) == b""


def test_dup() -> None:
    a, b = gsocket.socketpair()
    with a, b:
        b.settimeout(3.0)
        d = b.dup()
        with d:
            assert isinstance(d, gsocket.socket)
            assert d.fileno() != b.fileno()
            assert d.gettimeout() == 3.0
            assert not os.get_blocking(d.fileno())
            b.close()
            gt = greenlane.spawn(d.recv, 10)
            wait_until_parked(gt)
            a.sendall(b"via dup")
            assert gt.wait() == b"via dup"


def test_detach_releases_the_registration_and_keeps_the_fd() -> None:
    a, b = gsocket.socketpair()
    with a:
        gt = greenlane.spawn(b.recv, 10)
        wait_until_parked(gt)
        a.sendall(b"1")
        assert gt.wait() == b"1"
        fd = b.fileno()
        assert fd in get_hub().io.registered  # kept between waits
        assert b.detach() == fd
        assert b.fileno() == -1
        assert fd not in get_hub().io.registered
        with gsocket.socket(fileno=fd) as again:
            gt = greenlane.spawn(again.recv, 10)
            wait_until_parked(gt)
            a.sendall(b"2")
            assert gt.wait() == b"2"


def test_fileno() -> None:
    s = gsocket.socket()
    fd = s.fileno()
    assert fd >= 0
    assert fd == socket.socket.fileno(s)
    s.close()
    assert s.fileno() == -1


def test_socketpair() -> None:
    a, b = gsocket.socketpair()
    with a, b:
        assert isinstance(a, gsocket.socket) and isinstance(b, gsocket.socket)
        assert a.family == socket.AF_UNIX
        assert a.gettimeout() is None
    c, d = gsocket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    with c, d:
        c.send(b"datagram")
        assert d.recv(100) == b"datagram"


def test_fromfd_duplicates() -> None:
    a, b = gsocket.socketpair()
    with a, b:
        c = gsocket.fromfd(b.fileno(), socket.AF_UNIX, socket.SOCK_STREAM)
        with c:
            assert isinstance(c, gsocket.socket)
            assert c.fileno() != b.fileno()
            gt = greenlane.spawn(c.recv, 10)
            wait_until_parked(gt)
            a.sendall(b"fromfd")
            assert gt.wait() == b"fromfd"
        b.settimeout(SHORT)
        with pytest.raises(TimeoutError):
            b.recv(1)  # b itself is untouched by closing c


def test_green_socket_on_a_stdlib_socket_fd() -> None:
    std_a, std_b = socket.socketpair()
    with std_a, gsocket.socket(fileno=std_b.detach()) as green:
        gt = greenlane.spawn(green.recv, 10)
        wait_until_parked(gt)
        std_a.sendall(b"mixed")
        assert gt.wait() == b"mixed"


# -- create_connection, create_server ------------------------------------------


def test_create_connection_and_create_server() -> None:
    with gsocket.create_server(("127.0.0.1", 0), backlog=5, reuse_port=True) as server:
        assert isinstance(server, gsocket.socket)
        assert server.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
        port = server.getsockname()[1]
        with gsocket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            source = probe.getsockname()
        with gsocket.create_connection(("127.0.0.1", port), timeout=2.0, source_address=source) as c:
            assert isinstance(c, gsocket.socket)
            assert c.gettimeout() == 2.0
            conn, peer = server.accept()
            with conn:
                assert peer == source
        with gsocket.create_connection(("localhost", port)) as c:
            assert c.gettimeout() is None
            conn, _ = server.accept()
            conn.close()


@pytest.mark.skipif(sys.version_info < (3, 11), reason="all_errors is new in Python 3.11")
def test_create_connection_all_errors() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        with pytest.raises(ExceptionGroup) as info:  # noqa: F821 - 3.11+
            gsocket.create_connection(unused.getsockname(), all_errors=True)
    assert all(isinstance(e, ConnectionRefusedError) for e in info.value.exceptions)


# -- timeouts -------------------------------------------------------------


@pytest.mark.parametrize("method", ["recv", "recv_into", "recvfrom", "recvmsg", "accept", "send", "sendall"])
def test_timeouts_raise_socket_timeout(method: str) -> None:
    a, b = gsocket.socketpair()
    with a, b, gsocket.create_server(("127.0.0.1", 0)) as server:
        if method in ("send", "sendall"):
            fill(b)
        for s in (b, server):
            s.settimeout(SHORT)
        start = time.monotonic()
        with pytest.raises(socket.timeout, match="timed out"):
            if method == "accept":
                server.accept()
            elif method == "recv_into":
                b.recv_into(bytearray(1))
            elif method in ("send", "sendall"):
                getattr(b, method)(b"y" * 65536)
            else:
                getattr(b, method)(1)
        elapsed = time.monotonic() - start
        assert SHORT * 0.9 <= elapsed < HANG_GUARD
        stats = get_hub().statistics()
        assert (stats.readers, stats.writers, stats.timers) == (0, 0, 0)


def test_the_timeout_bounds_sendall_as_a_whole() -> None:
    """A peer that drains a little at a time keeps each wait short; the whole call still times out."""
    a, b = gsocket.socketpair()
    with a, b:
        stop = greenlane.Event()

        def slow_reader() -> None:
            while not stop.ready():
                b.recv(65536)
                greenlane.sleep(0.02)

        reader = greenlane.spawn(slow_reader)
        timeout = 0.3
        a.settimeout(timeout)
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            a.sendall(b"z" * (64 * 1024 * 1024))  # ~20 s at the reader's pace
        elapsed = time.monotonic() - start
        assert timeout * 0.9 <= elapsed < HANG_GUARD / 2
        stop.send()
        a.close()
        reader.wait()


def test_greenlane_timeout_and_kill_interrupt_a_blocked_recv() -> None:
    a, b = gsocket.socketpair()
    with a, b:
        with pytest.raises(greenlane.Timeout), greenlane.Timeout(SHORT):
            b.recv(1)
        gt = greenlane.spawn(b.recv, 1)
        wait_until_parked(gt)
        gt.kill()
        stats = get_hub().statistics()
        assert (stats.readers, stats.timers) == (0, 0)
        a.sendall(b"!")  # the socket still works for the next reader
        assert b.recv(1) == b"!"


# -- closing while waited on; fd reuse; collection ----------------------------


def _wait_then_close(start_wait: Callable[[], Any], sock: gsocket.socket) -> None:
    gt = greenlane.spawn(start_wait)
    wait_until_parked(gt)
    fd = sock.fileno()
    assert fd in get_hub().io.registered
    sock.close()
    with pytest.raises(IOClosed) as info:
        gt.wait()
    assert isinstance(info.value, OSError)
    assert info.value.errno == errno.EBADF
    hub = get_hub()
    stats = hub.statistics()
    assert (stats.readers, stats.writers, stats.timers) == (0, 0, 0)
    assert fd not in hub.io.registered


@pytest.mark.parametrize("timeout", [None, HANG_GUARD])
def test_close_wakes_a_reader_with_io_closed(timeout: float | None) -> None:
    a, b = gsocket.socketpair()
    with a:
        b.settimeout(timeout)
        _wait_then_close(lambda: b.recv(10), b)


def test_close_wakes_an_acceptor_with_io_closed() -> None:
    server = gsocket.create_server(("127.0.0.1", 0))
    _wait_then_close(server.accept, server)


def test_close_wakes_a_writer_with_io_closed() -> None:
    a, b = gsocket.socketpair()
    with b:
        fill(a)
        _wait_then_close(lambda: a.sendall(b"w" * 1_000_000), a)


def test_close_from_another_os_thread_wakes_the_waiter() -> None:
    a, b = gsocket.socketpair()
    with a:
        gt = greenlane.spawn(b.recv, 10)
        wait_until_parked(gt)
        closer = threading.Thread(target=b.close)
        closer.start()
        # IOClosed when the hub hears of the close first; a poll/select hub may instead
        # see the dead fd first (POLLNVAL) and the retried recv gets EBADF: an error either way.
        with pytest.raises(OSError) as info:
            gt.wait()
        assert info.value.errno == errno.EBADF
        closer.join()
        wait_until(lambda: get_hub().statistics().readers == 0)  # the hub runs its queued unregistration


def test_close_from_another_os_thread_then_fd_reuse_in_the_hub_thread() -> None:
    """The hub's thread may reuse the fd number before it runs: the new socket must work."""
    a, b = gsocket.socketpair()
    with b:
        greenlane.spawn_after(0.01, b.sendall, b"a")
        assert a.recv(10) == b"a"  # a's fd is now registered with the hub (kept)
        old_fd = a.fileno()
        closer = threading.Thread(target=a.close)
        closer.start()
        closer.join()  # closed while the hub did not run: its release is not yet processed
        c, d = _socket_on(old_fd)
        with c, d:
            greenlane.spawn_after(0.01, d.sendall, b"b")
            c.settimeout(HANG_GUARD)
            assert c.recv(10) == b"b"  # neither a stale registration nor a late IOClosed


def _socket_on(fd: int) -> tuple[gsocket.socket, gsocket.socket]:
    """A new connected pair whose first socket has the fd number ``fd`` (which must be free)."""
    c, d = gsocket.socketpair()
    if c.fileno() == fd:
        return c, d
    if d.fileno() == fd:
        return d, c
    os.dup2(c.fileno(), fd, inheritable=False)
    c.close()
    return gsocket.socket(socket.AF_UNIX, socket.SOCK_STREAM, fileno=fd), d


def _assert_reused_fd_works(fd: int) -> None:
    c, d = _socket_on(fd)
    with c, d:
        assert c.fileno() == fd
        c.settimeout(HANG_GUARD)  # a stale registration would hang: fail instead
        gt = greenlane.spawn(c.recv, 10)
        wait_until_parked(gt)
        d.sendall(b"reused")
        assert gt.wait() == b"reused"
        c.settimeout(SHORT)
        with pytest.raises(TimeoutError):
            c.recv(1)  # and no stale readiness either


def test_fd_reuse_after_close_does_not_hang() -> None:
    a, b = gsocket.socketpair()
    gt = greenlane.spawn(b.recv, 10)
    wait_until_parked(gt)
    a.sendall(b"x")
    assert gt.wait() == b"x"
    fd = b.fileno()
    assert fd in get_hub().io.registered  # the registration was kept after the wait
    b.close()
    a.close()
    assert fd not in get_hub().io.registered
    _assert_reused_fd_works(fd)


def test_collected_socket_leaves_no_stale_registration() -> None:
    a, b = gsocket.socketpair()
    gt = greenlane.spawn(b.recv, 10)
    wait_until_parked(gt)
    a.sendall(b"x")
    assert gt.wait() == b"x"
    fd = b.fileno()
    assert fd in get_hub().io.registered
    del gt
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        del b
        gc.collect()
    assert fd not in get_hub().io.registered
    with pytest.raises(OSError):
        os.fstat(fd)  # closed by the collection
    a.close()
    _assert_reused_fd_works(fd)


def test_select_hub_refuses_an_fd_past_fd_setsize_clearly() -> None:
    result = run_script(
        """
        import os, time, greenlane
        from greenlane.green import socket as gsocket
        a, b = gsocket.socketpair()
        os.dup2(b.fileno(), 1500)  # past select()'s FD_SETSIZE of 1024
        high = gsocket.socket(fileno=1500)
        high.settimeout(0.5)
        low_a, low_b = gsocket.socketpair()
        low = greenlane.spawn(low_b.recv, 10)
        greenlane.spawn_after(0.05, low_a.sendall, b"low")
        try:
            high.recv(10)
        except TimeoutError:
            print("timed out after spinning; low reader done:", low.dead)
        except (ValueError, OSError) as exc:
            assert low.wait() == b"low"
            print("pass")
        """,
        env={"GREENLANE_HUB": "select"},
    )
    assert result.stdout.strip() == "pass", result.stdout + result.stderr


# -- many waits don't cost a registration each -----------------------------


def test_a_kept_registration_costs_nothing_per_wait() -> None:
    a, b = gsocket.socketpair()
    with a, b:
        hub = get_hub()
        calls = []
        poller = hub.io.poller
        real_register, real_modify = poller.register, poller.modify
        poller.register = lambda fd, ev: (calls.append("register"), real_register(fd, ev))  # type: ignore[method-assign]
        poller.modify = lambda fd, ev: (calls.append("modify"), real_modify(fd, ev))  # type: ignore[method-assign]
        try:
            for i in range(20):
                gt = greenlane.spawn(b.recv, 10)
                greenlane.sleep(0)
                a.sendall(b"%d" % i)
                assert gt.wait() == b"%d" % i
        finally:
            del poller.register, poller.modify
        assert calls.count("register") <= 1
        assert len(calls) <= 3  # a narrowing after an idle report, at most


# -- name resolution ---------------------------------------------------------


@pytest.fixture
def resolver_threads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """Record, for each libc resolver call the green module makes, whether a tpool worker made it."""
    seen: list[tuple[str, bool]] = []
    for name in ("_std_getaddrinfo", "_std_gethostbyname", "_std_gethostbyname_ex", "_std_getnameinfo"):
        real = getattr(gsocket, name)

        def spy(*args: Any, _real: Any = real, _name: str = name) -> Any:
            seen.append((_name, bool(getattr(_tls, "tpool_worker", False))))
            return _real(*args)

        monkeypatch.setattr(gsocket, name, spy)
    return seen


def test_localhost_resolves(resolver_threads: list[tuple[str, bool]]) -> None:
    infos = gsocket.getaddrinfo("localhost", 80, socket.AF_INET, socket.SOCK_STREAM)
    assert ("127.0.0.1", 80) in [info[4] for info in infos]
    assert gsocket.gethostbyname("localhost") == "127.0.0.1"
    _, _, addresses = gsocket.gethostbyname_ex("localhost")
    assert "127.0.0.1" in addresses
    assert resolver_threads == [
        ("_std_getaddrinfo", True),
        ("_std_gethostbyname", True),
        ("_std_gethostbyname_ex", True),
    ]


def test_numeric_addresses_skip_the_thread_pool(resolver_threads: list[tuple[str, bool]]) -> None:
    assert gsocket.getaddrinfo("127.0.0.1", 80, socket.AF_INET)[0][4] == ("127.0.0.1", 80)
    assert gsocket.getaddrinfo("::1", 80, socket.AF_INET6)[0][4][:2] == ("::1", 80)
    assert gsocket.gethostbyname("127.0.0.1") == "127.0.0.1"
    flags = socket.NI_NUMERICHOST | socket.NI_NUMERICSERV
    assert gsocket.getnameinfo(("127.0.0.1", 80), flags) == ("127.0.0.1", "80")
    assert all(not in_pool for _, in_pool in resolver_threads)


def test_reverse_lookups_run_in_the_pool(resolver_threads: list[tuple[str, bool]]) -> None:
    host, port = gsocket.getnameinfo(("127.0.0.1", 80), socket.NI_NUMERICSERV)
    assert (isinstance(host, str), port) == (True, "80")
    assert resolver_threads == [("_std_getnameinfo", True)]
    try:
        _, _, addresses = gsocket.gethostbyaddr("127.0.0.1")
    except socket.herror:
        pass  # no reverse entry for 127.0.0.1 here; the call still returned
    else:
        assert "127.0.0.1" in addresses
    assert isinstance(gsocket.getfqdn("localhost"), str)


@pytest.mark.parametrize("call", ["getaddrinfo", "gethostbyname", "gethostbyname_ex", "create_connection"])
def test_a_name_that_does_not_exist(call: str) -> None:
    name = "no-such-host.greenlane.invalid"  # .invalid never resolves (RFC 6761)
    with pytest.raises(socket.gaierror):
        if call == "getaddrinfo":
            gsocket.getaddrinfo(name, 80)
        elif call == "create_connection":
            gsocket.create_connection((name, 80), timeout=HANG_GUARD)
        else:
            getattr(gsocket, call)(name)


def test_resolving_waits_only_the_green_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    real = gsocket._std_getaddrinfo
    answer = threading.Event()  # a real one: the resolver is a native thread

    def slow_getaddrinfo(*args: Any) -> Any:
        answer.wait(HANG_GUARD)  # a DNS server that answers only when the test says so
        return real(*args)

    monkeypatch.setattr(gsocket, "_std_getaddrinfo", slow_getaddrinfo)
    main = greenlet.getcurrent()

    def answer_once_main_waits() -> None:  # runs only if resolving left the hub free
        wait_until_parked(main, reason="tpool")
        answer.set()

    helper = greenlane.spawn(answer_once_main_waits)
    assert gsocket.getaddrinfo("localhost", 80, socket.AF_INET)
    helper.wait()


def test_connect_to_a_name_resolves_in_the_pool(resolver_threads: list[tuple[str, bool]]) -> None:
    with gsocket.create_server(("127.0.0.1", 0)) as server, gsocket.socket() as c:
        c.connect(("localhost", server.getsockname()[1]))
        conn, _ = server.accept()
        conn.close()
    assert resolver_threads == [("_std_getaddrinfo", True)]


@pytest.fixture(autouse=True, scope="module")
def _stop_the_pool() -> Iterator[None]:
    yield
    tpool.killall()
