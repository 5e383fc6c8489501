"""The green copies of http, urllib, socketserver and ftplib, the rest of green ssl and os.

Client and server run as green threads of one hub: if either blocked the OS
thread, the other could never answer, and the client's socket timeout
(``GUARD``) would fail the test instead of a silent hang.
"""

from __future__ import annotations

import http.client
import http.cookiejar
import importlib
import os
import ssl
import sys
import threading
import urllib.error
import urllib.parse
import urllib.response
from collections.abc import Iterator
from typing import Any

import pytest

import greenlane
from greenlane.green import ftplib as gftplib
from greenlane.green import os as gos
from greenlane.green import socket as gsocket
from greenlane.green import socketserver as gsocketserver
from greenlane.green import ssl as gssl
from greenlane.green.http import client as gclient
from greenlane.green.http import cookiejar as gcookiejar
from greenlane.green.http import server as gserver
from greenlane.green.urllib import error as gerror
from greenlane.green.urllib import parse as gparse
from greenlane.green.urllib import request as grequest
from greenlane.green.urllib import response as gresponse

# Bounds a wait that should end at once: reached only if something blocks the hub.
GUARD = 10.0


class Handler(gserver.BaseHTTPRequestHandler):
    entered: greenlane.Event[None] | None = None
    release: greenlane.Event[None] | None = None

    def do_GET(self) -> None:
        if self.path == "/missing":
            self.send_error(404)
            return
        if self.path == "/held" and Handler.release is not None and Handler.entered is not None:
            Handler.entered.send(None)
            Handler.release.wait()
        body = f"hello {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve(server_class: type[gserver.HTTPServer]) -> Iterator[tuple[str, gserver.HTTPServer]]:
    server = server_class(("127.0.0.1", 0), Handler)
    runner = greenlane.spawn(server.serve_forever, 0.01)
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server
    finally:
        server.shutdown()
        runner.wait()
        server.server_close()


@pytest.fixture
def http_server() -> Iterator[tuple[str, gserver.HTTPServer]]:
    yield from serve(gserver.HTTPServer)


@pytest.fixture
def threading_http_server() -> Iterator[tuple[str, gserver.HTTPServer]]:
    yield from serve(gserver.ThreadingHTTPServer)


def test_urlopen_against_a_green_http_server_in_the_same_hub(http_server: tuple[str, Any]) -> None:
    url, _ = http_server
    with grequest.urlopen(f"{url}/x", timeout=GUARD) as response:
        assert response.status == 200
        assert response.read() == b"hello /x"


def test_errors_are_the_stdlib_classes(http_server: tuple[str, Any]) -> None:
    url, _ = http_server
    with pytest.raises(urllib.error.HTTPError) as info:
        grequest.urlopen(f"{url}/missing", timeout=GUARD)
    assert info.value.code == 404
    info.value.close()
    assert gerror.HTTPError is urllib.error.HTTPError
    assert gclient.HTTPException is http.client.HTTPException
    assert gclient.RemoteDisconnected is http.client.RemoteDisconnected
    assert gcookiejar.LoadError is http.cookiejar.LoadError
    assert gftplib.error_perm.__module__ == "ftplib"


def test_http_client_connection_is_green(http_server: tuple[str, Any]) -> None:
    _, server = http_server
    conn = gclient.HTTPConnection("127.0.0.1", server.server_address[1], timeout=GUARD)
    try:
        conn.request("GET", "/c")
        assert isinstance(conn.sock, gsocket.socket)
        assert conn.getresponse().read() == b"hello /c"
    finally:
        conn.close()


def test_a_server_closing_without_answering_is_remote_disconnected() -> None:
    listener = gsocket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def close_at_once() -> None:
        conn, _ = listener.accept()
        conn.recv(1024)
        conn.close()

    closer = greenlane.spawn(close_at_once)
    conn = gclient.HTTPConnection("127.0.0.1", listener.getsockname()[1], timeout=GUARD)
    try:
        conn.request("GET", "/")
        with pytest.raises(http.client.RemoteDisconnected):
            conn.getresponse()
    finally:
        conn.close()
        closer.wait()
        listener.close()


def test_threading_http_server_handles_requests_in_green_threads(
    threading_http_server: tuple[str, Any],
) -> None:
    url, _ = threading_http_server
    Handler.entered, Handler.release = greenlane.Event(), greenlane.Event()
    try:
        held = greenlane.spawn(lambda: grequest.urlopen(f"{url}/held", timeout=GUARD).read())
        Handler.entered.wait()
        # The first request's handler waits; a second one is served meanwhile.
        with grequest.urlopen(f"{url}/free", timeout=GUARD) as response:
            assert response.read() == b"hello /free"
        assert not held.dead
        Handler.release.send(None)
        assert held.wait() == b"hello /held"
    finally:
        Handler.entered = Handler.release = None


def test_socketserver_threads_are_green() -> None:
    seen: list[int] = []

    class Echo(gsocketserver.BaseRequestHandler):
        def handle(self) -> None:
            seen.append(threading.get_ident())
            self.request.sendall(self.request.recv(16))

    with gsocketserver.ThreadingTCPServer(("127.0.0.1", 0), Echo) as server:
        runner = greenlane.spawn(server.serve_forever, 0.01)
        try:
            with gsocket.create_connection(server.server_address, timeout=GUARD) as client:
                client.sendall(b"ping")
                assert client.recv(16) == b"ping"
        finally:
            server.shutdown()
            runner.wait()
    assert seen and seen[0] == threading.get_ident()  # same OS thread: a green thread ran the handler


def test_cookiejar_lock_is_green() -> None:
    jar = gcookiejar.CookieJar()
    assert jar._cookies_lock.__module__.startswith("greenlane")  # type: ignore[attr-defined]


def test_ftplib_talks_over_green_sockets() -> None:
    listener = gsocket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def tiny_ftp_server() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.sendall(b"220 greenlane test\r\n")
            assert conn.recv(64).startswith(b"QUIT")
            conn.sendall(b"221 bye\r\n")

    server = greenlane.spawn(tiny_ftp_server)
    ftp = gftplib.FTP()
    try:
        assert ftp.connect("127.0.0.1", listener.getsockname()[1], timeout=GUARD).startswith("220")
        assert isinstance(ftp.sock, gsocket.socket)
        assert ftp.quit().startswith("221")
    finally:
        ftp.close()
        server.wait()
        listener.close()


def test_parse_error_response_are_the_stdlib_modules_names() -> None:
    assert gparse.urlsplit is urllib.parse.urlsplit
    assert gparse.__all__ == urllib.parse.__all__
    assert gresponse.addinfourl is urllib.response.addinfourl


def test_py2_names_of_the_green_package() -> None:
    import greenlane.green

    assert greenlane.green.BaseHTTPServer is gserver
    assert greenlane.green.SocketServer is gsocketserver
    assert greenlane.green.urllib2 is grequest


def test_green_zmq_is_a_clear_import_error() -> None:
    if importlib.util.find_spec("zmq") is not None:
        pytest.skip("pyzmq is installed here: the other message applies")
    with pytest.raises(ImportError, match="pyzmq"):
        importlib.import_module("greenlane.green.zmq")


# -- ssl: the stdlib's other ways to a TLS socket, green -----------------------

@pytest.fixture(scope="module")
def ca() -> Any:
    trustme = pytest.importorskip("trustme")
    return trustme.CA()


@pytest.fixture
def tls_listener(ca: Any, tmp_path: Any) -> Iterator[tuple[gsocket.socket, str]]:
    cert = ca.issue_cert("127.0.0.1")
    pem = tmp_path / "server.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(pem))
    listener = gsocket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    try:
        yield listener, str(pem)
    finally:
        listener.close()


def _echo_once(listener: gsocket.socket, pem: str, module_wrap: bool = False) -> greenlane.GreenThread[None]:
    def serve() -> None:
        conn, _ = listener.accept()
        conn.settimeout(GUARD)
        if module_wrap:
            tls = gssl.wrap_socket(conn, certfile=pem, server_side=True)
        else:
            context = gssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(pem)
            tls = context.wrap_socket(conn, server_side=True)
        with tls:
            try:
                data = tls.recv(16)
            except (BrokenPipeError, ssl.SSLEOFError):
                # A peer gone without close_notify (get_server_certificate): b"", SSLEOFError,
                # or with OpenSSL 3.4+ BrokenPipeError, as unpatched ssl (migration guide).
                data = b""
            if data:
                tls.sendall(data)

    return greenlane.spawn(serve)


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="ssl.wrap_socket was removed in Python 3.12")
def test_module_level_wrap_socket_warns_as_the_stdlibs() -> None:
    with (
        gsocket.socket() as sock,
        pytest.warns(DeprecationWarning, match="wrap_socket"),
        pytest.raises(ValueError, match="certfile"),
    ):
        gssl.wrap_socket(sock, server_side=True)


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="ssl.wrap_socket was removed in Python 3.12")
@pytest.mark.filterwarnings("ignore:ssl.wrap_socket:DeprecationWarning")
def test_module_level_wrap_socket_handshakes_without_blocking_the_hub(tls_listener: Any) -> None:
    listener, pem = tls_listener
    server = _echo_once(listener, pem, module_wrap=True)
    client = gsocket.create_connection(listener.getsockname(), timeout=GUARD)
    with gssl.wrap_socket(client) as tls:  # no verification: the old function's default
        assert isinstance(tls, gssl.SSLSocket)
        tls.sendall(b"hi")
        assert tls.recv(16) == b"hi"
    server.wait()


def test_get_server_certificate_is_green(tls_listener: Any, ca: Any) -> None:
    listener, pem = tls_listener
    server = _echo_once(listener, pem)
    cert = gssl.get_server_certificate(listener.getsockname(), timeout=GUARD)
    server.wait()
    assert cert.startswith("-----BEGIN CERTIFICATE-----")


def test_https_context_is_green_and_follows_the_stdlib_override() -> None:
    context = gssl._create_default_https_context()
    assert isinstance(context, gssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    original = ssl._create_default_https_context
    ssl._create_default_https_context = ssl._create_unverified_context
    try:
        context = gssl._create_default_https_context()
        assert isinstance(context, gssl.SSLContext)
        assert context.verify_mode == ssl.CERT_NONE
    finally:
        ssl._create_default_https_context = original
    assert gssl.socket is gsocket.socket
    assert gssl.create_connection is gsocket.create_connection


# -- os: the stdlib's other waits ------------------------------------------------


def _gated_command() -> tuple[str, list[int], greenlane.GreenThread[int]]:
    """A shell command that ends only after a green thread, spawned now, writes to its pipe.

    If the call running the command blocked the hub, the green thread could
    not write until it returned: the command would give up after ``GUARD``
    seconds with status 124 instead of 0.
    """
    r, w = os.pipe()
    os.set_inheritable(r, True)
    writer = greenlane.spawn(os.write, w, b"x")
    return f"timeout {GUARD:g} head -c1 /dev/fd/{r} >/dev/null", [r, w], writer


def test_os_system_lets_other_green_threads_run() -> None:
    command, fds, writer = _gated_command()
    try:
        assert os.waitstatus_to_exitcode(gos.system(command)) == 0
        assert writer.wait() == 1
    finally:
        for fd in fds:
            os.close(fd)


def test_os_popen_reads_and_reports_the_exit_status() -> None:
    with gos.popen("echo hi") as f:
        assert f.read() == "hi\n"
    pipe = gos.popen("exit 2")
    assert pipe.close() == 2 << 8
    with pytest.raises(ValueError, match="mode"):
        gos.popen("true", "rw")


def test_os_fdopen_of_a_pipe_parks_the_reader() -> None:
    r, w = os.pipe()
    reader_file = gos.fdopen(r, "rb", 0)
    try:
        reader = greenlane.spawn(reader_file.read, 3)
        greenlane.sleep(0)
        assert not reader.dead
        os.write(w, b"abc")
        assert reader.wait() == b"abc"
    finally:
        reader_file.close()
        os.close(w)


def test_os_spawn_p_wait_lets_other_green_threads_run() -> None:
    command, fds, writer = _gated_command()
    try:
        assert gos.spawnlp(os.P_WAIT, "sh", "sh", "-c", command) == 0
        assert writer.wait() == 1
    finally:
        for fd in fds:
            os.close(fd)
