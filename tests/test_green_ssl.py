"""greenlane.green.ssl: green TLS sockets, with certificates made in the test by trustme."""

from __future__ import annotations

import errno
import hashlib
import os
import socket
import ssl
import threading
from typing import Any

import pytest

import greenlane
from greenlane.green import socket as gsocket
from greenlane.green import ssl as gssl
from greenlane.hubs import IOClosed, get_hub
from greenlane.testing import wait_until_parked

trustme = pytest.importorskip("trustme")

# Bounds a wait that should end at once: reached only if something hangs.
HANG_GUARD = 10.0
# A short real-time timeout, long enough that nothing legitimate hits it early.
SHORT = 0.05
HOSTNAME = "greenlane.test"
OTHER_HOSTNAME = "other.greenlane.test"


pytestmark = pytest.mark.usefixtures("no_fd_or_registration_left")


@pytest.fixture(scope="module")
def ca() -> Any:
    return trustme.CA()


@pytest.fixture
def server_ctx(ca: Any) -> gssl.SSLContext:
    ctx = gssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(HOSTNAME, "localhost", "127.0.0.1").configure_cert(ctx)
    return ctx


@pytest.fixture
def client_ctx(ca: Any) -> gssl.SSLContext:
    ctx = gssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


def tls_pair(
    server_ctx: ssl.SSLContext,
    client_ctx: ssl.SSLContext,
    hostname: str | None = HOSTNAME,
    **client_kwargs: Any,
) -> tuple[gssl.SSLSocket, gssl.SSLSocket]:
    """A (client, server) pair of green TLS sockets over a socketpair, handshakes done concurrently."""
    a, b = gsocket.socketpair()
    for s in (a, b):
        s.settimeout(HANG_GUARD)
    server = greenlane.spawn(server_ctx.wrap_socket, b, server_side=True)
    try:
        client = client_ctx.wrap_socket(a, server_hostname=hostname, **client_kwargs)
    except BaseException:
        server.kill()
        a.close()
        b.close()
        raise
    return client, server.wait()  # type: ignore[return-value]


def echo_once(tls: ssl.SSLSocket) -> None:
    data = tls.recv(1024)
    tls.sendall(data.upper())


# -- the module ---------------------------------------------------------------


def test_module_replaces_what_it_declares_and_falls_through() -> None:
    assert set(gssl.__implements__) == {"SSLContext", "create_default_context"}  # SSLSocket: see the module
    assert gssl.CERT_REQUIRED is ssl.CERT_REQUIRED
    assert gssl.SSLError is ssl.SSLError
    assert gssl.SSLCertVerificationError is ssl.SSLCertVerificationError
    assert issubclass(gssl.SSLSocket, ssl.SSLSocket)
    assert issubclass(gssl.SSLSocket, gsocket.socket)
    assert issubclass(gssl.SSLContext, ssl.SSLContext)


@pytest.mark.parametrize("purpose", [ssl.Purpose.SERVER_AUTH, ssl.Purpose.CLIENT_AUTH])
def test_create_default_context_has_the_stdlib_settings(purpose: ssl.Purpose) -> None:
    green = gssl.create_default_context(purpose)
    std = ssl.create_default_context(purpose)
    assert isinstance(green, gssl.SSLContext)
    assert green.sslsocket_class is gssl.SSLSocket
    settings = ("verify_mode", "check_hostname", "options", "minimum_version", "maximum_version", "protocol")
    for name in settings:
        assert getattr(green, name) == getattr(std, name), name
    assert green.cert_store_stats() == std.cert_store_stats()


# -- handshake, read, write ---------------------------------------------------


def test_tls_over_tcp_loopback(server_ctx: gssl.SSLContext, client_ctx: gssl.SSLContext) -> None:
    with server_ctx.wrap_socket(gsocket.create_server(("127.0.0.1", 0)), server_side=True) as listener:
        address = listener.getsockname()

        def serve_one() -> tuple[bool, str | None]:
            conn, _ = listener.accept()  # the handshake runs inside accept
            with conn:
                assert isinstance(conn, gssl.SSLSocket)
                echo_once(conn)
                return conn.server_side, conn.version()

        server = greenlane.spawn(serve_one)
        with client_ctx.wrap_socket(gsocket.socket(), server_hostname=HOSTNAME) as tls:
            assert isinstance(tls, gssl.SSLSocket)
            tls.settimeout(HANG_GUARD)
            tls.connect(address)  # handshake on connect
            assert tls.server_side is False
            version = tls.version()
            assert version in ("TLSv1.2", "TLSv1.3")
            assert ("DNS", HOSTNAME) in tls.getpeercert()["subjectAltName"]
            tls.sendall(b"hello")
            assert tls.recv(1024) == b"HELLO"
        assert server.wait() == (True, version)


def test_read_write_recv_into_and_makefile(server_ctx: gssl.SSLContext, client_ctx: gssl.SSLContext) -> None:
    client, server = tls_pair(server_ctx, client_ctx)
    with client, server:
        assert client.write(b"via write") == 9
        assert server.read(100) == b"via write"
        buf = bytearray(100)
        server.send(b"into a buffer")
        assert client.recv_into(buf) == 13
        assert bytes(buf[:13]) == b"into a buffer"
        server.sendall(b"read into")
        assert client.read(100, buf) == 9
        assert bytes(buf[:9]) == b"read into"
        with client.makefile("rwb") as f, server.makefile("rwb") as g:
            f.write(b"line over tls\n")
            f.flush()
            assert g.readline() == b"line over tls\n"
        with pytest.raises(ValueError, match="non-zero flags"):
            client.send(b"x", socket.MSG_DONTWAIT)


def test_a_blocked_tls_read_waits_only_its_green_thread(
    server_ctx: gssl.SSLContext, client_ctx: gssl.SSLContext
) -> None:
    client, server = tls_pair(server_ctx, client_ctx)
    with client, server:
        gt = greenlane.spawn(client.recv, 100)
        wait_until_parked(gt, reason="waiting to read")
        assert get_hub().statistics().readers == 1
        server.sendall(b"late")
        assert gt.wait() == b"late"


def test_a_handshake_waits_only_its_green_thread(
    server_ctx: gssl.SSLContext, client_ctx: gssl.SSLContext
) -> None:
    a, b = gsocket.socketpair()
    with a, b:
        client = greenlane.spawn(client_ctx.wrap_socket, a, server_hostname=HOSTNAME)
        wait_until_parked(client, reason="ssl: handshake")  # for the server's hello; we still run
        with server_ctx.wrap_socket(b, server_side=True) as server, client.wait() as tls:
            assert tls.version() == server.version()


def test_megabytes_over_tls_keep_their_integrity(
    server_ctx: gssl.SSLContext, client_ctx: gssl.SSLContext
) -> None:
    payload = os.urandom(4 * 1024 * 1024)
    client, server = tls_pair(server_ctx, client_ctx)
    with client, server:

        def receive() -> str:
            digest = hashlib.sha256()
            got = 0
            while got < len(payload):
                chunk = server.recv(65536)
                assert chunk
                digest.update(chunk)
                got += len(chunk)
            return digest.hexdigest()

        gt = greenlane.spawn(receive)
        client.sendall(payload)
        assert gt.wait() == hashlib.sha256(payload).hexdigest()


def test_unwrap_returns_to_plain_data(server_ctx: gssl.SSLContext, client_ctx: gssl.SSLContext) -> None:
    client, server = tls_pair(server_ctx, client_ctx)
    with client, server:
        client.sendall(b"secret")
        assert server.recv(100) == b"secret"
        peer = greenlane.spawn(server.unwrap)
        plain_client = client.unwrap()
        plain_server = peer.wait()
        assert client._sslobj is None and server._sslobj is None
        plain_client.sendall(b"in the clear")
        assert plain_server.recv(100) == b"in the clear"
        with pytest.raises(ValueError, match="No SSL wrapper"):
            client.unwrap()


def test_sni_callback_sees_the_name_and_may_switch_context(
    ca: Any, server_ctx: gssl.SSLContext, client_ctx: gssl.SSLContext
) -> None:
    other_ctx = gssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(OTHER_HOSTNAME).configure_cert(other_ctx)
    seen: list[str | None] = []

    def sni(sslobj: ssl.SSLObject, name: str | None, ctx: ssl.SSLContext) -> None:
        seen.append(name)
        if name == OTHER_HOSTNAME:
            sslobj.context = other_ctx

    server_ctx.sni_callback = sni
    client, server = tls_pair(server_ctx, client_ctx, OTHER_HOSTNAME)
    with client, server:
        assert ("DNS", OTHER_HOSTNAME) in client.getpeercert()["subjectAltName"]
    client, server = tls_pair(server_ctx, client_ctx, HOSTNAME)
    with client, server:
        assert ("DNS", HOSTNAME) in client.getpeercert()["subjectAltName"]
    assert seen == [OTHER_HOSTNAME, HOSTNAME]


def test_do_handshake_on_connect_false(server_ctx: gssl.SSLContext, client_ctx: gssl.SSLContext) -> None:
    a, b = gsocket.socketpair()
    server = server_ctx.wrap_socket(b, server_side=True, do_handshake_on_connect=False)
    client = client_ctx.wrap_socket(a, server_hostname=HOSTNAME, do_handshake_on_connect=False)
    with client, server:
        assert client.version() is None and server.version() is None  # nothing happened yet
        peer = greenlane.spawn(server.do_handshake)
        client.do_handshake()
        peer.wait()
        assert client.version() == server.version() is not None
        client.sendall(b"after an explicit handshake")
        assert server.recv(100) == b"after an explicit handshake"


def test_connect_without_handshake_then_handshake(
    server_ctx: gssl.SSLContext, client_ctx: gssl.SSLContext
) -> None:
    with server_ctx.wrap_socket(gsocket.create_server(("127.0.0.1", 0)), server_side=True) as listener:
        server = greenlane.spawn(listener.accept)
        with client_ctx.wrap_socket(
            gsocket.socket(), server_hostname=HOSTNAME, do_handshake_on_connect=False
        ) as tls:
            tls.connect(listener.getsockname())
            assert tls.version() is None
            tls.do_handshake()
            conn, _ = server.wait()
            with conn:
                assert tls.version() == conn.version()


def test_non_blocking_tls_socket(server_ctx: gssl.SSLContext, client_ctx: gssl.SSLContext) -> None:
    a, b = gsocket.socketpair()
    with a, b:
        a.setblocking(False)
        with pytest.raises(ValueError, match="non-blocking"):
            client_ctx.wrap_socket(a, server_hostname=HOSTNAME)  # the stdlib refuses this too
    client, server = tls_pair(server_ctx, client_ctx)
    with client, server:
        client.setblocking(False)
        with pytest.raises(ssl.SSLWantReadError):
            client.recv(10)
        assert get_hub().statistics().readers == 0


# -- failures -----------------------------------------------------------------


def _handshake_failure(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext, hostname: str
) -> ssl.SSLCertVerificationError:
    a, b = gsocket.socketpair()
    with a, b:
        for s in (a, b):
            s.settimeout(HANG_GUARD)

        def server_side() -> None:
            with pytest.raises(ssl.SSLError):  # the client's alert
                server_ctx.wrap_socket(b, server_side=True).close()

        server = greenlane.spawn(server_side)
        with pytest.raises(ssl.SSLCertVerificationError) as info:
            client_ctx.wrap_socket(a, server_hostname=hostname)
        a.close()
        server.wait()
    return info.value


def test_an_untrusted_certificate_fails_verification(server_ctx: gssl.SSLContext) -> None:
    stranger = gssl.create_default_context()
    trustme.CA().configure_trust(stranger)  # trusts some other CA
    exc = _handshake_failure(server_ctx, stranger, HOSTNAME)
    assert exc.verify_code != 0
    assert isinstance(exc, ssl.SSLError)


def test_a_wrong_host_name_fails_verification(
    server_ctx: gssl.SSLContext, client_ctx: gssl.SSLContext
) -> None:
    exc = _handshake_failure(server_ctx, client_ctx, "not-the-server.test")
    assert "not-the-server.test" in str(exc) or "mismatch" in str(exc).lower()


def test_tls_read_times_out(server_ctx: gssl.SSLContext, client_ctx: gssl.SSLContext) -> None:
    client, server = tls_pair(server_ctx, client_ctx)
    with client, server:
        client.settimeout(SHORT)
        with pytest.raises(socket.timeout):
            client.recv(10)
        stats = get_hub().statistics()
        assert (stats.readers, stats.timers) == (0, 0)


def test_tls_handshake_times_out(client_ctx: gssl.SSLContext) -> None:
    a, b = gsocket.socketpair()  # nobody answers on b
    with a, b:
        a.settimeout(SHORT)
        with pytest.raises(TimeoutError):
            client_ctx.wrap_socket(a, server_hostname=HOSTNAME)


def test_close_while_a_tls_read_waits(server_ctx: gssl.SSLContext, client_ctx: gssl.SSLContext) -> None:
    client, server = tls_pair(server_ctx, client_ctx)
    with server:
        gt = greenlane.spawn(client.recv, 10)
        wait_until_parked(gt, reason="waiting to read")
        client.close()
        with pytest.raises(IOClosed) as info:
            gt.wait()
        assert info.value.errno == errno.EBADF
        stats = get_hub().statistics()
        assert (stats.readers, stats.writers) == (0, 0)


def _recv_outcome(tls: ssl.SSLSocket) -> tuple[str, Any]:
    """What ``tls.recv(10)`` gives: ``("returned", data)`` or the exception's type and first arg."""
    try:
        return ("returned", tls.recv(10))
    except OSError as exc:  # SSLError too: its first arg is the SSL_ERROR_* code, an OSError's the errno
        return (type(exc).__name__, exc.args[0])


def _stdlib_eof_without_close_notify(ca: Any, suppress: bool) -> tuple[str, Any]:
    """The unpatched ssl module, native threads: the peer's fd closes without a TLS close_notify."""
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(HOSTNAME).configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    a, b = socket.socketpair()
    a.settimeout(HANG_GUARD)
    b.settimeout(HANG_GUARD)

    def serve() -> None:
        with b:
            os.close(server_ctx.wrap_socket(b, server_side=True).detach())

    server = threading.Thread(target=serve)
    server.start()
    try:
        client = client_ctx.wrap_socket(a, server_hostname=HOSTNAME, suppress_ragged_eofs=suppress)
    finally:
        server.join()
    with client:
        return _recv_outcome(client)


# What unpatched ssl gives when the peer vanishes without close_notify: EOF (b"") or SSLEOFError
# (SSL_ERROR_EOF) as suppress_ragged_eofs says; BrokenPipeError (EPIPE), whatever suppress_ragged_eofs
# says, where CPython raises OSError for OpenSSL's ERR_LIB_SYS (gh-127257: 3.14, and the releases
# of 3.9-3.13 from 2025 on) and OpenSSL 3.4+ reports that way its failed write of the alert it sends
# on the unexpected EOF. See docs/migrating-from-eventlet.md (Sockets and I/O).
EOF_OUTCOMES = {
    True: {("returned", b""), ("BrokenPipeError", errno.EPIPE)},
    False: {("SSLEOFError", ssl.SSL_ERROR_EOF), ("BrokenPipeError", errno.EPIPE)},
}


@pytest.mark.parametrize("suppress", [True, False])
def test_eof_without_close_notify_is_what_unpatched_ssl_gives(
    ca: Any, server_ctx: gssl.SSLContext, client_ctx: gssl.SSLContext, suppress: bool
) -> None:
    a, b = gsocket.socketpair()
    a.settimeout(HANG_GUARD)
    server = greenlane.spawn(server_ctx.wrap_socket, b, server_side=True)
    client = client_ctx.wrap_socket(a, server_hostname=HOSTNAME, suppress_ragged_eofs=suppress)
    with client:
        os.close(server.wait().detach())  # the raw fd goes away without a TLS close_notify
        green = _recv_outcome(client)
    assert green == _stdlib_eof_without_close_notify(ca, suppress)
    assert green in EOF_OUTCOMES[suppress]


def test_wrapping_a_stdlib_socket_takes_it_over(
    server_ctx: gssl.SSLContext, client_ctx: gssl.SSLContext
) -> None:
    std_a, std_b = socket.socketpair()
    b = gsocket.socket(fileno=std_b.detach())
    server = greenlane.spawn(server_ctx.wrap_socket, b, server_side=True)
    with client_ctx.wrap_socket(std_a, server_hostname=HOSTNAME) as client:
        assert isinstance(client, gssl.SSLSocket)
        assert std_a.fileno() == -1  # detached into the green TLS socket
        with server.wait() as peer:
            peer.sendall(b"green")
            assert client.recv(10) == b"green"
    b.close()
