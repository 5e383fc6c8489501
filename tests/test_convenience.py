"""greenlane.listen / connect / serve / StopServe / wrap_ssl (eventlet's convenience functions)."""

from __future__ import annotations

import errno
import logging
import socket
import ssl
from collections.abc import Iterator
from typing import Any

import pytest

import greenlane
from greenlane import convenience
from greenlane.green import socket as gsocket
from greenlane.green import ssl as gssl
from greenlane.hubs import IOClosed, get_hub
from greenlane.testing import assert_parked, wait_until_parked
from helpers import run_script

# Bounds a wait that should end at once: reached only if something hangs.
HANG_GUARD = 10.0
# The issue's load: this many connections open at once through one serve().
CONCURRENT_CONNECTIONS = 1000
# fds that one process holding both ends of every connection needs, plus room for the rest.
FDS_NEEDED = 2 * CONCURRENT_CONNECTIONS + 256
HOSTNAME = "greenlane.test"


pytestmark = pytest.mark.usefixtures("no_fd_or_registration_left")


def echo_once(conn: gsocket.socket, address: Any) -> None:
    conn.sendall(conn.recv(1024).upper())


def run_server(handle: Any, concurrency: int = 1000) -> tuple[gsocket.socket, greenlane.GreenThread[None]]:
    listener = greenlane.listen(("127.0.0.1", 0))
    return listener, greenlane.spawn(greenlane.serve, listener, handle, concurrency)


def talk(address: Any, message: bytes) -> bytes:
    with greenlane.connect(address) as c:
        c.settimeout(HANG_GUARD)
        c.sendall(message)
        return c.recv(1024)


# -- the lazily loaded names ------------------------------------------------------


def test_names_load_lazily_from_greenlane() -> None:
    for name in ("listen", "connect", "serve", "StopServe", "wrap_ssl"):
        assert name in greenlane.__all__
        assert getattr(greenlane, name) is getattr(convenience, name)
    assert issubclass(greenlane.StopServe, Exception)
    with pytest.raises(AttributeError, match="no_such_thing"):
        greenlane.no_such_thing  # noqa: B018


def test_import_greenlane_loads_no_networking() -> None:
    result = run_script(
        """
        import sys
        import greenlane
        loaded = [m for m in ("ssl", "greenlane.convenience", "greenlane.green.socket") if m in sys.modules]
        assert not loaded, loaded
        greenlane.listen  # first use loads it
        assert "greenlane.convenience" in sys.modules
        print("pass")
        """
    )
    assert result.stdout.strip() == "pass", result.stderr


# -- listen and connect -----------------------------------------------------------


def test_listen_defaults() -> None:
    with greenlane.listen(("127.0.0.1", 0)) as listener:
        assert isinstance(listener, gsocket.socket)
        assert listener.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
        assert listener.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)
        if hasattr(socket, "SO_REUSEPORT"):  # not on a random port (eventlet's rule)
            assert not listener.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)
        port = listener.getsockname()[1]
    assert convenience.DEFAULT_BACKLOG == 50  # eventlet's
    if hasattr(socket, "SO_REUSEPORT"):
        with greenlane.listen(("127.0.0.1", port)) as listener:
            assert listener.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)


@pytest.mark.skipif(not hasattr(socket, "SO_REUSEPORT"), reason="no SO_REUSEPORT here")
def test_listen_reuse_port_on_a_random_port_warns() -> None:
    with pytest.warns(convenience.ReuseRandomPortWarning):
        listener = greenlane.listen(("127.0.0.1", 0), reuse_port=True)
    with listener:
        assert listener.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)


@pytest.mark.skipif(not hasattr(socket, "SO_REUSEPORT"), reason="no SO_REUSEPORT here")
def test_listen_where_the_kernel_refuses_reuse_port_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    real = gsocket.socket.setsockopt

    def refuse(self: gsocket.socket, level: int, option: int, value: Any) -> None:
        if option == socket.SO_REUSEPORT:
            raise OSError(errno.EINVAL, "Invalid argument")
        real(self, level, option, value)

    monkeypatch.setattr(gsocket.socket, "setsockopt", refuse)
    with greenlane.listen(("127.0.0.1", 0)) as free:
        port = free.getsockname()[1]
    with pytest.warns(convenience.ReusePortUnavailableWarning):
        listener = greenlane.listen(("127.0.0.1", port))
    with listener:
        assert listener.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)


def test_listen_options_off() -> None:
    with greenlane.listen(("127.0.0.1", 0), reuse_addr=False, reuse_port=False, backlog=1) as listener:
        assert not listener.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)
        if hasattr(socket, "SO_REUSEPORT"):
            assert not listener.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)


def test_listen_on_a_busy_address_fails_and_closes_its_socket() -> None:
    with greenlane.listen(("127.0.0.1", 0), reuse_port=False) as first:
        with pytest.raises(OSError) as info:
            greenlane.listen(first.getsockname(), reuse_port=False)
        assert info.value.errno == errno.EADDRINUSE
    # the fixture checks that the failed listener's socket was closed


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no Unix sockets")
def test_listen_and_connect_on_a_unix_socket(tmp_path: Any) -> None:
    path = str(tmp_path / "sock")
    with greenlane.listen(path, family=socket.AF_UNIX) as listener:
        server = greenlane.spawn(listener.accept)
        with greenlane.connect(path, family=socket.AF_UNIX) as c:
            conn, _ = server.wait()
            with conn:
                c.sendall(b"unix")
                assert conn.recv(10) == b"unix"


def test_listen_ipv6() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        listener = greenlane.listen(("::1", 0), family=socket.AF_INET6)
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback here: {exc}")
    with listener:
        server = greenlane.spawn(listener.accept)
        with greenlane.connect(listener.getsockname()[:2], family=socket.AF_INET6) as c:
            conn, _ = server.wait()
            conn.close()
            assert c.recv(1) == b""


def test_connect_binds_first_when_asked() -> None:
    with greenlane.listen(("127.0.0.1", 0)) as listener:
        with gsocket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            source = probe.getsockname()
        server = greenlane.spawn(listener.accept)
        with greenlane.connect(listener.getsockname(), bind=source) as c:
            assert isinstance(c, gsocket.socket)
            conn, peer = server.wait()
            conn.close()
            assert peer == source == c.getsockname()


def test_connect_refused_closes_its_socket() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))  # bound, not listening: the kernel refuses
        with pytest.raises(ConnectionRefusedError):
            greenlane.connect(unused.getsockname())


# -- serve ----------------------------------------------------------------------


def test_serve_runs_a_handler_per_connection_and_closes_it_after() -> None:
    conns: list[gsocket.socket] = []

    def handle(conn: gsocket.socket, address: Any) -> None:
        conns.append(conn)
        echo_once(conn, address)  # returns without closing: serve closes

    listener, server = run_server(handle)
    with listener:
        for message in (b"one", b"two", b"three"):
            with greenlane.connect(listener.getsockname()) as c:
                c.settimeout(HANG_GUARD)
                c.sendall(message)
                assert c.recv(1024) == message.upper()
                assert c.recv(1) == b""  # closed by serve once the handler returned
        assert len(conns) == 3
        assert all(conn.fileno() == -1 for conn in conns)
        server.kill()
    assert server.dead


def test_serve_returns_on_stop_serve() -> None:
    def handle(conn: gsocket.socket, address: Any) -> None:
        if conn.recv(10) == b"stop":
            raise greenlane.StopServe

    listener, server = run_server(handle)
    with listener:
        talk(listener.getsockname(), b"go on")
        wait_until_parked()
        assert_parked(server, reason="socket: accepting")  # back in accept, not ended
        talk(listener.getsockname(), b"stop")
        assert server.wait() is None


def test_serve_reraises_a_handler_exception() -> None:
    class HandlerBroke(Exception):
        pass

    def handle(conn: gsocket.socket, address: Any) -> None:
        conn.recv(10)
        raise HandlerBroke("in the handler")

    listener, server = run_server(handle)
    with listener:
        assert talk(listener.getsockname(), b"boom") == b""  # the connection was closed
        with pytest.raises(HandlerBroke, match="in the handler"):
            server.wait()


def test_a_handler_failing_after_the_server_stopped_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    release = greenlane.Event()

    def handle(conn: gsocket.socket, address: Any) -> None:
        if conn.recv(10) == b"first":
            raise ValueError("stops the server")
        release.wait()
        raise KeyError("after the stop")

    listener, server = run_server(handle)
    with listener, greenlane.connect(listener.getsockname()) as slow:
        slow.sendall(b"second")
        wait_until_parked()  # its handler waits on release
        talk(listener.getsockname(), b"first")
        with pytest.raises(ValueError, match="stops the server"):
            server.wait()
        with caplog.at_level(logging.ERROR, logger="greenlane.convenience"):
            release.send()
            assert slow.recv(1) == b""  # still closed after its handler
        assert "after the server stopped" in caplog.text
        assert "after the stop" in caplog.text


def test_a_handler_killed_from_outside_ends_quietly(caplog: pytest.LogCaptureFixture) -> None:
    handlers: list[Any] = []

    def handle(conn: gsocket.socket, address: Any) -> None:
        handlers.append(greenlane.getcurrent())
        conn.recv(10)  # waits until killed

    listener, server = run_server(handle)
    with listener, greenlane.connect(listener.getsockname()) as c, caplog.at_level(logging.ERROR):
        c.settimeout(HANG_GUARD)
        wait_until_parked()
        assert_parked(handlers[0], reason="socket: waiting to read")
        greenlane.kill(handlers[0])
        assert c.recv(1) == b""  # its connection was closed
        assert not server.dead  # and serve goes on
        assert talk(listener.getsockname(), b"next") == b""
        server.kill()
    assert caplog.text == ""


def test_serve_limits_concurrency() -> None:
    active = peak = 0
    release = greenlane.Event()

    def handle(conn: gsocket.socket, address: Any) -> None:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        release.wait()
        echo_once(conn, address)
        active -= 1

    listener, server = run_server(handle, concurrency=2)
    with listener:
        clients = [greenlane.spawn(talk, listener.getsockname(), b"c%d" % i) for i in range(5)]
        wait_until_parked(*clients)
        wait_until_parked(server, reason="GreenPool.spawn")
        assert peak == 2  # the other three wait in the listen backlog
        release.send()
        assert sorted(c.wait() for c in clients) == [b"C%d" % i for i in range(5)]
        assert peak == 2
        server.kill()


@pytest.mark.parametrize("stop", ["handler error", "kill"])
def test_a_connection_waiting_for_a_free_handler_is_closed_when_serve_stops(stop: str) -> None:
    go = greenlane.Event()

    def handle(conn: gsocket.socket, address: Any) -> None:
        go.wait()
        raise ValueError("the only handler fails")

    listener, server = run_server(handle, concurrency=1)
    with listener, greenlane.connect(listener.getsockname()) as first:
        wait_until_parked()  # serve accepted it; its handler waits on go
        with greenlane.connect(listener.getsockname()) as second:
            second.settimeout(HANG_GUARD)
            wait_until_parked(server, reason="GreenPool.spawn")  # serve accepted it and waits for the pool
            if stop == "kill":
                server.kill()
                go.send(True)
            else:
                go.send(True)
                with pytest.raises(ValueError, match="the only handler fails"):
                    server.wait()
            assert second.recv(1) == b""  # closed, not left open until collected
            assert first.recv(1) == b""


def test_closing_the_listener_stops_serve_with_io_closed() -> None:
    listener, server = run_server(echo_once)
    assert talk(listener.getsockname(), b"x") == b"X"
    listener.close()
    with pytest.raises(IOClosed):
        server.wait()


def test_killing_serve_stops_it_and_leaves_the_listener_usable() -> None:
    listener, server = run_server(echo_once)
    with listener:
        assert talk(listener.getsockname(), b"x") == b"X"
        server.kill()
        assert server.dead
        stats = get_hub().statistics()
        assert (stats.readers, stats.timers) == (0, 0)
        client = greenlane.spawn(talk, listener.getsockname(), b"by hand")
        conn, address = listener.accept()
        with conn:
            echo_once(conn, address)
        assert client.wait() == b"BY HAND"


@pytest.fixture
def many_fds() -> Iterator[None]:
    resource = pytest.importorskip("resource")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < FDS_NEEDED:
        if hard != resource.RLIM_INFINITY and hard < FDS_NEEDED:
            pytest.skip(f"the hard fd limit {hard} is below the {FDS_NEEDED} this test needs")
        resource.setrlimit(resource.RLIMIT_NOFILE, (FDS_NEEDED, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_thousand_concurrent_connections_through_serve(many_fds: None) -> None:
    if get_hub().poller_name == "select":
        pytest.skip("select() cannot watch fds past FD_SETSIZE (1024); this test holds ~2,000")
    n = CONCURRENT_CONNECTIONS
    all_open = greenlane.Event()
    active = peak = served = connected = 0

    def handle(conn: gsocket.socket, address: Any) -> None:
        nonlocal active, peak, served
        active += 1
        peak = max(peak, active)
        conn.sendall(conn.recv(64))
        assert conn.recv(1) == b""  # the client hangs up only once all are open
        active -= 1
        served += 1
        if served == n:
            raise greenlane.StopServe

    listener = greenlane.listen(("127.0.0.1", 0), backlog=n)
    server = greenlane.spawn(greenlane.serve, listener, handle, n)

    def client(i: int) -> None:
        nonlocal connected
        with greenlane.connect(listener.getsockname()) as c:
            c.settimeout(6 * HANG_GUARD)
            message = b"client %d" % i
            c.sendall(message)
            assert c.recv(64) == message
            connected += 1
            if connected == n:
                all_open.send(True)
            assert all_open.wait(6 * HANG_GUARD), "not every connection got through"

    with listener:
        clients = [greenlane.spawn(client, i) for i in range(n)]
        try:
            for gt in clients:
                gt.wait()
            assert server.wait() is None
        finally:  # on a failure, leave nothing running
            for gt in clients:
                gt.kill()
            server.kill()
    assert (peak, served) == (n, n)


# -- wrap_ssl -------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert(HOSTNAME)
    where = tmp_path_factory.mktemp("tls")
    files = {"ca": str(where / "ca.pem"), "cert": str(where / "cert.pem"), "key": str(where / "key.pem")}
    ca.cert_pem.write_to_path(files["ca"])
    cert.cert_chain_pems[0].write_to_path(files["cert"])
    cert.private_key_pem.write_to_path(files["key"])
    return files


def _tls_server(files: dict[str, str], **kwargs: Any) -> tuple[gsocket.socket, greenlane.GreenThread[Any]]:
    listener = greenlane.listen(("127.0.0.1", 0))

    def serve_one() -> bytes:
        conn, _ = listener.accept()
        with greenlane.wrap_ssl(
            conn, certfile=files["cert"], keyfile=files["key"], server_side=True, **kwargs
        ) as tls:
            assert isinstance(tls, gssl.SSLSocket)
            data = tls.recv(1024)
            tls.sendall(data.upper())
            return data

    return listener, greenlane.spawn(serve_one)


def test_wrap_ssl_client_and_server(tls_files: dict[str, str]) -> None:
    listener, server = _tls_server(tls_files)
    with listener, greenlane.wrap_ssl(
        greenlane.connect(listener.getsockname()), ca_certs=tls_files["ca"], server_hostname=HOSTNAME
    ) as tls:
        assert tls.context.verify_mode == ssl.CERT_REQUIRED
        assert tls.context.check_hostname
        tls.sendall(b"over tls")
        assert tls.recv(1024) == b"OVER TLS"
        assert server.wait() == b"over tls"


def test_wrap_ssl_verifies_by_default(tls_files: dict[str, str]) -> None:
    listener, server = _tls_server(tls_files)
    with listener:
        raw = greenlane.connect(listener.getsockname())
        with raw, pytest.raises(ssl.SSLCertVerificationError):
            greenlane.wrap_ssl(raw, server_hostname=HOSTNAME)  # the test CA is not trusted
        with pytest.raises(ssl.SSLError):
            server.wait()


def test_wrap_ssl_without_verification(tls_files: dict[str, str]) -> None:
    listener, server = _tls_server(tls_files)
    with listener, greenlane.wrap_ssl(
        greenlane.connect(listener.getsockname()), cert_reqs=ssl.CERT_NONE, server_hostname=HOSTNAME
    ) as tls:
        assert not tls.context.check_hostname
        tls.sendall(b"unverified")
        assert tls.recv(1024) == b"UNVERIFIED"
        assert server.wait() == b"unverified"


def test_wrap_ssl_deferred_handshake(tls_files: dict[str, str]) -> None:
    listener, server = _tls_server(tls_files)
    with listener, greenlane.wrap_ssl(
        greenlane.connect(listener.getsockname()),
        ca_certs=tls_files["ca"],
        server_hostname=HOSTNAME,
        do_handshake_on_connect=False,
    ) as tls:
        assert tls.version() is None
        tls.do_handshake()
        assert tls.version() is not None
        tls.sendall(b"late")
        assert tls.recv(1024) == b"LATE"
        assert server.wait() == b"late"
