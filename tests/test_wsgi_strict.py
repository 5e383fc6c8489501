"""greenlane.wsgi refuses what could be read two ways: a 4xx, the connection closed, the server alive.

Each case sends raw bytes over a real loopback socket. After every refusal
the test checks that the application never saw the smuggled request and
that the server still answers a fresh connection.
"""

from __future__ import annotations

import errno
import time
from typing import Any

import pytest

pytest.importorskip("httptools", reason="greenlane.wsgi needs the optional httptools (greenlane[wsgi])")

import greenlane
from greenlane import wsgi
from greenlane.green import socket as gsocket
from wsgi_support import HANG_GUARD, hello, read_to_close, serving, status_of

pytestmark = pytest.mark.usefixtures("no_fd_or_registration_left")

CHUNKED_POST = b"POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n"


def echo_body(env: dict[str, Any], start_response: Any) -> list[bytes]:
    body = env["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return [body]


def refused(raw: bytes, status: int = 400, app: Any = echo_body, **kwargs: Any) -> bytes:
    """Send ``raw`` (+ a smuggled GET): the answer is ``status``, then the connection closes."""
    with serving(app, **kwargs) as srv:
        response = srv.exchange(raw + SMUGGLED)
        assert status_of(response) == status, response
        assert response.count(b"HTTP/1.1 ") == 1, f"one answer, then close: {response!r}"
        assert b"Connection: close" in response
        assert "/smuggled" not in srv.seen
        assert status_of(srv.get("/after")) == 200  # the server lives on
        return response


# -- Content-Length and Transfer-Encoding --------------------------------------------


def test_content_length_with_transfer_encoding_is_refused() -> None:
    refused(b"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")


def test_transfer_encoding_before_content_length_is_refused() -> None:
    refused(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n")


@pytest.mark.parametrize("values", [(b"5", b"5"), (b"5", b"0")], ids=["same", "different"])
def test_duplicate_content_length_is_refused(values: tuple[bytes, bytes]) -> None:
    a, b = values
    refused(b"POST / HTTP/1.1\r\nContent-Length: " + a + b"\r\nContent-Length: " + b + b"\r\n\r\nhello")


@pytest.mark.parametrize("value", [b"5x", b"+5", b"-5", b"5, 5", b"0x5", b"", b"5 5"])
def test_non_numeric_content_length_is_refused(value: bytes) -> None:
    refused(b"POST / HTTP/1.1\r\nContent-Length: " + value + b"\r\n\r\nhello")


@pytest.mark.parametrize(
    "value",
    [b"gzip", b"chunked, gzip", b"gzip, chunked", b"xchunked", b"chunked;q=1", b"identity"],
)
def test_transfer_encoding_other_than_chunked_is_refused(value: bytes) -> None:
    refused(b"POST / HTTP/1.1\r\nTransfer-Encoding: " + value + b"\r\n\r\n0\r\n\r\n")


def test_transfer_encoding_twice_is_refused() -> None:
    refused(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")


def test_transfer_encoding_on_http10_closes_after_the_request() -> None:
    """RFC 9112 6.1: faulty framing; the request may be processed, then the connection closes."""
    with serving(echo_body) as srv:
        response = srv.exchange(
            b"POST /up HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + SMUGGLED
        )
        assert status_of(response) == 200
        assert response.endswith(b"abc")
        assert srv.seen == ["/up"]


# -- line syntax ------------------------------------------------------------------


def test_obsolete_line_folding_is_refused() -> None:
    refused(b"GET / HTTP/1.1\r\nHost: t\r\nX-Folded: a\r\n b\r\n\r\n")


@pytest.mark.parametrize(
    "raw",
    [
        b"GET / HTTP/1.1\rHost: t\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: t\rX: y\r\n\r\n",
        b"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",
    ],
    ids=["after-request-line", "between-headers", "inside-a-value"],
)
def test_bare_cr_is_refused(raw: bytes) -> None:
    refused(raw)


def test_bare_lf_line_endings_are_refused() -> None:
    refused(b"GET / HTTP/1.1\nHost: t\n\n")


def test_nul_in_a_header_value_is_refused() -> None:
    refused(b"GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n")


@pytest.mark.parametrize(
    "name", [b"X Y", b"X : ", b"", b"X\x01"], ids=["space", "space-colon", "empty", "ctl"]
)
def test_bad_header_names_are_refused(name: bytes) -> None:
    refused(b"GET / HTTP/1.1\r\n" + name + b": v\r\n\r\n")


@pytest.mark.parametrize(
    ("version", "status"), [(b"HTTP/2.0", 505), (b"HTTP/0.9", 505), (b"HTTP/1.2", 400), (b"HTTP/1.10", 400)]
)
def test_other_versions_are_refused(version: bytes, status: int) -> None:
    refused(b"GET / " + version + b"\r\nHost: t\r\n\r\n", status=status)


def test_a_space_in_the_target_is_refused() -> None:
    refused(b"GET /a b HTTP/1.1\r\nHost: t\r\n\r\n")


# -- chunked bodies -------------------------------------------------------------------


@pytest.mark.parametrize(
    "chunks",
    [
        b"zz\r\nhello\r\n0\r\n\r\n",
        b"0x5\r\nhello\r\n0\r\n\r\n",
        b"5 \r\nhello\r\n0\r\n\r\n",
        b" 5\r\nhello\r\n0\r\n\r\n",
        b"ffffffffffffffffffff\r\nhello\r\n0\r\n\r\n",
        b"5\nhello\n0\n\n",
        b"5\r\nhelloXX0\r\n\r\n",
        b"5;ext\nhello\r\n0\r\n\r\n",
    ],
    ids=[
        "not-hex",
        "0x",
        "trailing-space",
        "leading-space",
        "overflow",
        "lf-only",
        "no-crlf-after-data",
        "lf-ext",
    ],
)
def test_bad_chunk_size_lines_are_refused(chunks: bytes) -> None:
    refused(CHUNKED_POST + chunks)


def test_a_short_chunk_extension_is_accepted() -> None:
    with serving(echo_body) as srv:
        last = b"GET /smuggled HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        response = srv.exchange(CHUNKED_POST + b"5;name=value\r\nhello\r\n0\r\n\r\n" + last)
        assert response.count(b"HTTP/1.1 200") == 2
        assert b"hello" in response
        assert srv.seen == ["/upload", "/smuggled"]  # pipelined, so both are legitimate here


def test_chunk_extensions_past_the_limit_are_refused() -> None:
    # Bigger than one read, so some read lies wholly inside the extension (see _parser).
    refused(CHUNKED_POST + b"5;" + b"x" * 200_000 + b"\r\nhello\r\n0\r\n\r\n")


def test_an_endless_chunk_extension_is_cut_off() -> None:
    """The extension never ends: the server refuses once past the limit, without waiting for a line end."""
    with serving(echo_body) as srv, srv.connect() as sock:
        sock.sendall(CHUNKED_POST + b"5;")
        response = b""
        for _ in range(100):
            try:
                sock.sendall(b"x" * 1000)
            except OSError:
                break
            greenlane.sleep(0)
        response = read_to_close(sock)
        assert status_of(response) == 400


# -- trailers: the two CVEs -------------------------------------------------------------


def test_valid_trailers_are_consumed_not_taken_for_a_request() -> None:
    with serving(echo_body) as srv:
        raw = CHUNKED_POST + b"5\r\nhello\r\n0\r\nX-Checksum: abc\r\n\r\n"
        raw += b"GET /next HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        response = srv.exchange(raw)
        assert response.count(b"HTTP/1.1 200") == 2
        assert srv.seen == ["/upload", "/next"]


def test_cve_2025_58068_eventlet_trailer_smuggling_is_refused() -> None:
    """eventlet < 0.40.3 stopped at the last chunk and read what followed as the next request."""
    refused(CHUNKED_POST + b"5\r\nhello\r\n0\r\n" + SMUGGLED)


def test_cve_2023_41419_gevent_invalid_trailer_smuggling_is_refused() -> None:
    """gevent < 23.9.0 let an invalid trailer line carry a second request past a proxy."""
    refused(CHUNKED_POST + b"0\r\nX-Ok: 1\r\nGET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n")


def test_trailer_with_bare_lf_is_refused() -> None:
    refused(CHUNKED_POST + b"0\r\nX: 1\n\r\n")


# -- limits ---------------------------------------------------------------------------


def test_a_too_long_request_line_gets_414() -> None:
    refused(b"GET /" + b"a" * wsgi.MAX_REQUEST_LINE + b" HTTP/1.1\r\n\r\n", status=414)


def test_url_length_limit_is_configurable() -> None:
    refused(b"GET /" + b"a" * 200 + b" HTTP/1.1\r\n\r\n", status=414, url_length_limit=100)


def test_a_too_long_header_line_gets_431() -> None:
    refused(b"GET / HTTP/1.1\r\nX-Big: " + b"a" * wsgi.MAX_HEADER_LINE + b"\r\n\r\n", status=431)


def test_too_many_headers_get_431() -> None:
    headers = b"".join(b"X-%d: v\r\n" % i for i in range(wsgi.MAX_HEADER_COUNT + 1))
    refused(b"GET / HTTP/1.1\r\n" + headers + b"\r\n", status=431)


def test_a_too_large_head_gets_431() -> None:
    headers = b"".join(b"X-%d: %s\r\n" % (i, b"v" * 4000) for i in range(20))
    refused(b"GET / HTTP/1.1\r\n" + headers + b"\r\n", status=431)


def test_a_head_that_never_ends_is_cut_off_at_the_limit() -> None:
    with serving() as srv, srv.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nX-Endless: ")
        for _ in range(200):
            try:
                sock.sendall(b"v" * 1000)
            except OSError:
                break
            greenlane.sleep(0)
        assert status_of(read_to_close(sock)) == 431


def test_many_headers_within_the_limits_are_served() -> None:
    with serving() as srv:
        headers = b"".join(b"X-%d: v\r\n" % i for i in range(wsgi.MAX_HEADER_COUNT - 2))
        response = srv.exchange(b"GET /ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\n" + headers + b"\r\n")
        assert status_of(response) == 200


# -- slow and idle clients ----------------------------------------------------------------


def test_a_head_not_complete_within_header_timeout_gets_408() -> None:
    with serving(header_timeout=0.2) as srv, srv.connect() as sock:
        began = time.monotonic()
        sock.sendall(b"GET / HTTP/1.1\r\n")
        response = b""
        for _ in range(50):  # slowloris: a byte at a time, never the blank line
            try:
                sock.sendall(b"X")
            except OSError:
                break
            greenlane.sleep(0.02)
            if time.monotonic() - began > 1.0:
                break
        response = read_to_close(sock)
        assert status_of(response) == 408
        assert time.monotonic() - began < HANG_GUARD


def test_an_idle_keepalive_connection_is_closed_after_the_keepalive_timeout() -> None:
    with serving(keepalive=0.2) as srv, srv.connect() as sock:
        sock.sendall(b"GET /one HTTP/1.1\r\nHost: t\r\n\r\n")
        began = time.monotonic()
        response = read_to_close(sock)  # returns when the server closes the idle connection
        assert status_of(response) == 200
        assert b"keep-alive" not in response.lower() or b"timeout=" in response.lower()
        assert 0.1 < time.monotonic() - began < HANG_GUARD


# -- what the application sends ---------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        ("X-Evil", "a\r\nSet-Cookie: owned=1"),
        ("X-Evil", "a\nSet-Cookie: owned=1"),
        ("X-Evil", "a\rSet-Cookie: owned=1"),
        ("X-Evil", "a\x00Set-Cookie: owned=1"),
        ("X-Evil\r\nSet-Cookie", "owned=1"),
        ("X-Evil: a\r\nSet-Cookie", "owned=1"),
    ],
    ids=["crlf", "lf", "cr", "nul", "crlf-in-name", "colon-in-name"],
)
def test_response_headers_with_cr_lf_or_nul_become_a_500_with_nothing_of_them_sent(
    header: tuple[str, str],
) -> None:
    def app(env: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain"), header])
        return [b"body"]

    with serving(app, debug=False) as srv:
        response = srv.get()
        assert status_of(response) == 500
        assert b"owned" not in response
        assert b"Set-Cookie" not in response
        assert b"X-Evil" not in response


def test_a_status_with_crlf_becomes_a_500() -> None:
    def app(env: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK\r\nSet-Cookie: owned=1", [])
        return [b"body"]

    with serving(app, debug=False) as srv:
        response = srv.get()
        assert status_of(response) == 500
        assert b"owned" not in response


# -- pipelining ---------------------------------------------------------------------


def test_pipelined_requests_are_answered_in_order() -> None:
    def app(env: dict[str, Any], start_response: Any) -> list[bytes]:
        body = env["wsgi.input"].read()
        if env["PATH_INFO"] == "/slow":
            greenlane.sleep(0.01)  # a later request must still wait for this one's answer
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [env["PATH_INFO"].encode() + b":" + body]

    with serving(app) as srv:
        raw = b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n"
        raw += b"POST /post HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nbody"
        raw += CHUNKED_POST + b"3\r\nabc\r\n0\r\n\r\n"
        raw += b"GET /last HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        response = srv.exchange(raw)
        bodies = [part.rsplit(b"\r\n\r\n", 1)[-1] for part in response.split(b"HTTP/1.1 200 OK")[1:]]
        assert [b.split(b"HTTP")[0] for b in bodies] == [b"/slow:", b"/post:body", b"/upload:abc", b"/last:"]
        assert srv.seen == ["/slow", "/post", "/upload", "/last"]


def test_pipelined_requests_one_byte_at_a_time() -> None:
    with serving() as srv, srv.connect() as sock:
        raw = b"GET /a HTTP/1.1\r\nHost: t\r\n\r\nGET /b HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        for byte in raw:
            sock.sendall(bytes([byte]))
        response = read_to_close(sock)
        assert response.count(b"200 OK") == 2
        assert response.index(b"hello /a") < response.index(b"hello /b")


# -- accept under fd exhaustion, TLS ------------------------------------------------------


def stop(server: Any) -> None:
    server.kill()
    try:
        server.wait()
    except greenlane.GreenletExit:
        pass


class _ExhaustedListener:
    """A listening socket whose accept() fails with EMFILE a few times first."""

    def __init__(self, real: Any, failures: int) -> None:
        self._real = real
        self.failures = failures

    def accept(self) -> Any:
        if self.failures:
            self.failures -= 1
            raise OSError(errno.EMFILE, "Too many open files")
        return self._real.accept()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def test_accept_out_of_fds_backs_off_logs_and_recovers() -> None:
    import io

    real = greenlane.listen(("127.0.0.1", 0))
    port = real.getsockname()[1]
    listener = _ExhaustedListener(real, failures=3)
    log = io.StringIO()
    server = greenlane.spawn(wsgi.server, listener, hello, log=log)
    began = time.monotonic()
    try:
        with gsocket.create_connection(("127.0.0.1", port)) as sock:
            sock.settimeout(HANG_GUARD)
            sock.sendall(b"GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            assert status_of(read_to_close(sock)) == 200
        # Three pauses, each double the last: 0.01 + 0.02 + 0.04 s, not a spin and not a death.
        assert time.monotonic() - began >= 0.07
        assert listener.failures == 0
        assert log.getvalue().count("Too many open files") == 3
    finally:
        stop(server)
        real.close()


def test_a_tls_listening_socket_serves_https(tmp_path: Any) -> None:
    import ssl

    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    listener = greenlane.wrap_ssl(
        greenlane.listen(("127.0.0.1", 0)), certfile=str(cert_file), keyfile=str(key_file), server_side=True
    )
    port = listener.getsockname()[1]

    def app(env: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [env["wsgi.url_scheme"].encode()]

    server = greenlane.spawn(wsgi.server, listener, app, log_output=False)
    try:
        # A client that connects and never handshakes must not hold up accept().
        with gsocket.create_connection(("127.0.0.1", port)):
            from greenlane.green import ssl as gssl

            ctx = gssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ca.configure_trust(ctx)
            raw = gsocket.create_connection(("127.0.0.1", port))
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                tls.settimeout(HANG_GUARD)
                tls.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                response = read_to_close(tls)
        assert status_of(response) == 200
        assert response.endswith(b"https")
    finally:
        stop(server)


# The version is read off the request line when a read starts at a request (httptools'
# own getter is slow); every other head asks llhttp. Both must agree, whatever the reads.
@pytest.mark.parametrize(
    ("raw", "versions"),
    [
        (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", ["HTTP/1.1"]),
        (b"GET / HTTP/1.0\r\nHost: a\r\n\r\n", ["HTTP/1.0"]),
        # Pipelined: the second head is not at the read's start.
        (b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.0\r\n\r\n", ["HTTP/1.1", "HTTP/1.0"]),
        (b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.1\r\n\r\n", ["HTTP/1.0", "HTTP/1.1"]),
        # A target that looks like a version, and a leading empty line.
        (b"GET /HTTP/1.0 HTTP/1.1\r\n\r\n", ["HTTP/1.1"]),
        (b"\r\nGET / HTTP/1.0\r\n\r\n", ["HTTP/1.0"]),
    ],
)
def test_the_version_is_the_request_lines_however_the_head_arrives(raw: bytes, versions: list[str]) -> None:
    from greenlane.wsgi._parser import Limits, RequestParser

    limits = Limits(
        wsgi.MAX_REQUEST_LINE, wsgi.MAX_HEADER_LINE, wsgi.MAX_TOTAL_HEADER_SIZE, wsgi.MAX_HEADER_COUNT
    )
    whole = RequestParser(limits)
    whole.feed(raw)
    split = RequestParser(limits)  # a byte a read: never at a fresh read with a whole line
    for i in range(len(raw)):
        split.feed(raw[i : i + 1])
    for parser in (whole, split):
        assert [m.version for m in parser.messages] == versions


def test_a_response_header_not_in_latin_1_is_refused_in_start_response() -> None:
    seen: list[BaseException] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        try:
            start_response("200 OK", [("X-Name", "caf\u00e9 \u2615")])
        except UnicodeEncodeError as exc:
            seen.append(exc)
            raise
        return [b"never sent"]

    with serving(app, debug=False) as srv:
        response = srv.get()
    assert status_of(response) == 500
    assert b"never sent" not in response
    assert b"X-Name" not in response
    assert len(seen) == 1
    assert "must be latin-1" in str(seen[0])
