"""greenlane.wsgi: eventlet's server API, environ, bodies, responses, logging, stopping, Flask."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest

pytest.importorskip("httptools", reason="greenlane.wsgi needs the optional httptools (greenlane[wsgi])")

import greenlane
import wsgi_support
from greenlane import wsgi
from helpers import run_script
from wsgi_support import HANG_GUARD, read_to_close, serving, status_of

pytestmark = pytest.mark.usefixtures("no_fd_or_registration_left")


def body_of(response: bytes) -> bytes:
    return response.split(b"\r\n\r\n", 1)[1]


def test_eventlet_module_names_exist() -> None:
    for name in (
        "server", "Server", "HttpProtocol", "Input", "ChunkReadError", "MAX_HEADER_LINE", "MAX_REQUEST_LINE",
        "MINIMUM_CHUNK_SIZE", "STATE_IDLE", "STATE_REQUEST", "STATE_CLOSE", "is_accepting", "WSGI_LOCAL",
        "ALREADY_HANDLED", "DEFAULT_MAX_SIMULTANEOUS_REQUESTS", "DEFAULT_LOG_FORMAT", "format_date_time",
    ):  # fmt: skip
        assert hasattr(wsgi, name), name
    assert issubclass(wsgi.ChunkReadError, ValueError)
    assert wsgi.format_date_time(0) == "Thu, 01 Jan 1970 00:00:00 GMT"


def test_environ_has_what_wsgi_and_eventlet_promise() -> None:
    seen: dict[str, Any] = {}

    def app(env: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.update(env)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    with serving(app) as srv:
        raw = (
            b"GET /a%20b/c?x=1&y=2 HTTP/1.1\r\nHost: example\r\nX-Twice: 1\r\nX-Twice: 2\r\n"
            b"X_Under: sneaky\r\nConnection: close\r\n\r\n"
        )
        assert status_of(srv.exchange(raw)) == 200
    assert seen["REQUEST_METHOD"] == "GET"
    assert seen["PATH_INFO"] == "/a b/c"
    assert seen["RAW_PATH_INFO"] == "/a%20b/c"
    assert seen["QUERY_STRING"] == "x=1&y=2"
    assert seen["SCRIPT_NAME"] == ""
    assert seen["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert seen["HTTP_HOST"] == "example"
    assert seen["HTTP_X_TWICE"] == "1,2"
    assert "HTTP_X_UNDER" not in seen  # "_" in a name could pass for "-": dropped, as eventlet does
    assert ("X_Under", "sneaky") in seen["headers_raw"]
    assert seen["REMOTE_ADDR"] == "127.0.0.1"
    assert seen["SERVER_NAME"] == "127.0.0.1"
    assert seen["wsgi.url_scheme"] == "http"
    assert seen["wsgi.version"] == (1, 0)
    assert seen["wsgi.input"] is seen["eventlet.input"] is seen["greenlane.input"]
    assert seen["eventlet.posthooks"] == []
    assert callable(seen["eventlet.set_idle"])
    assert "CONTENT_LENGTH" not in seen


def test_request_bodies_read_readline_iterate_and_chunked() -> None:
    def app(env: dict[str, Any], start_response: Any) -> list[bytes]:
        body = env["wsgi.input"]
        first = body.readline()
        two = body.read(2)
        rest = list(body)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"|".join([first, two, *rest])]

    with serving(app) as srv:
        raw = b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 12\r\n\r\nab\ncdef\ngh\nX"
        raw += b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        raw += b"3\r\nab\n\r\n4\r\ncdef\r\n3\r\n\ngh\r\n0\r\n\r\n"
        response = srv.exchange(raw)
        assert response.count(b"200 OK") == 2
        assert b"ab\n|cd|ef\n|gh\n|X" in response
        assert b"ab\n|cd|ef\n|gh" in response.split(b"200 OK")[2]


def test_an_unread_body_is_discarded_and_the_connection_kept() -> None:
    with serving() as srv, srv.connect() as sock:
        sock.sendall(b"POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100000)
        sock.sendall(b"GET /b HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        response = read_to_close(sock)
        assert response.count(b"200 OK") == 2
        assert srv.seen == ["/a", "/b"]


def test_expect_100_continue_is_sent_on_first_read_only() -> None:
    def app(env: dict[str, Any], start_response: Any) -> list[bytes]:
        body = env["wsgi.input"].read() if env["PATH_INFO"] == "/read" else b"unread"
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body]

    with serving(app) as srv, srv.connect() as sock:
        sock.sendall(b"POST /read HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"data")
        response = b""
        while b"data" not in response:
            response += sock.recv(1000)
        assert b"200 OK" in response
    with serving(app) as srv, srv.connect() as sock:
        sock.sendall(b"POST /skip HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
        response = read_to_close(sock)  # no 100, and the connection closes: the body may still come
        assert b"100 Continue" not in response
        assert b"Connection: close" in response


def test_a_response_of_unknown_length_is_chunked_on_http11_and_closes_on_http10() -> None:
    def app(env: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"one"
        yield b"two"

    with serving(app, minimum_chunk_size=1) as srv:
        response = srv.exchange(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        assert b"Transfer-Encoding: chunked" in response
        assert body_of(response) == b"3\r\none\r\n3\r\ntwo\r\n0\r\n\r\n"
        response = srv.exchange(b"GET / HTTP/1.0\r\nHost: t\r\nConnection: keep-alive\r\n\r\n")
        assert b"Transfer-Encoding" not in response
        assert body_of(response) == b"onetwo"


def test_http10_keepalive_is_echoed() -> None:
    with serving() as srv, srv.connect() as sock:
        sock.sendall(b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        first = sock.recv(1000)
        assert b"Connection: keep-alive" in first
        sock.sendall(b"GET /b HTTP/1.0\r\n\r\n")
        assert b"hello /b" in read_to_close(sock)


def test_head_and_204_have_no_body() -> None:
    def app(env: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("204 No Content" if env["PATH_INFO"] == "/204" else "200 OK", [])
        return [b""]

    with serving(app) as srv:
        response = srv.exchange(
            b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\nGET /204 HTTP/1.1\r\nConnection: close\r\n\r\n"
        )
        assert response.count(b"HTTP/1.1 ") == 2
        assert b"Transfer-Encoding" not in response


def test_an_application_error_is_a_500_with_the_traceback_only_in_debug() -> None:
    def app(env: dict[str, Any], start_response: Any) -> list[bytes]:
        raise RuntimeError("boom")

    with serving(app) as srv:
        response = srv.get()
        assert status_of(response) == 500
        assert b"RuntimeError: boom" in response
        assert "RuntimeError: boom" in srv.log.getvalue()
    with serving(app, debug=False) as srv:
        response = srv.get()
        assert status_of(response) == 500
        assert body_of(response) == b""


def test_posthooks_run_after_the_response() -> None:
    calls: list[Any] = []

    def app(env: dict[str, Any], start_response: Any) -> list[bytes]:
        env["eventlet.posthooks"].append(
            (lambda e, *a, **k: calls.append((e["PATH_INFO"], a, k)), (1,), {"k": 2})
        )
        start_response("200 OK", [])
        return [b""]

    with serving(app) as srv:
        srv.get("/p")
    assert calls == [("/p", (1,), {"k": 2})]


def test_access_log_has_eventlets_format_and_x_forwarded_for() -> None:
    with serving() as srv:
        srv.exchange(b"GET /logged HTTP/1.1\r\nX-Forwarded-For: 10.0.0.1\r\nConnection: close\r\n\r\n")
        line = next(entry for entry in srv.log.getvalue().splitlines() if "/logged" in entry)
    assert re.fullmatch(
        r"10\.0\.0\.1,127\.0\.0\.1 - - \[\d\d/\w\w\w/\d{4} \d\d:\d\d:\d\d\] "
        r'"GET /logged HTTP/1\.1" 200 \d+ \d+\.\d{6}',
        line,
    ), line


def test_log_output_false_logs_nothing() -> None:
    log = io.StringIO()
    with serving(log=log, log_output=False) as srv:
        srv.get()
    assert log.getvalue() == ""


def test_already_handled_closes_the_connection_without_a_response() -> None:
    def app(env: dict[str, Any], start_response: Any) -> list[bytes]:
        sock = env["eventlet.input"].get_socket()
        sock.sendall(b"RAW")
        wsgi.WSGI_LOCAL.already_handled = True
        return []

    with serving(app) as srv:
        assert srv.exchange(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n") == b"RAW"


def test_a_protocol_subclass_can_extend_get_environ() -> None:
    class Custom(wsgi.HttpProtocol):
        def get_environ(self) -> dict[str, Any]:
            env = super().get_environ()
            env["custom.command"] = self.command
            env["custom.header"] = self.headers["X-Thing"]
            return env

    def app(env: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [f"{env['custom.command']} {env['custom.header']}".encode()]

    with serving(app, protocol=Custom) as srv:
        response = srv.exchange(
            b"PUT / HTTP/1.1\r\nX-Thing: thing\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        assert body_of(response) == b"PUT thing"


def test_stopping_lets_an_in_flight_request_finish_and_closes_idle_connections() -> None:
    started = greenlane.Event()
    release = greenlane.Event()

    def app(env: dict[str, Any], start_response: Any) -> list[bytes]:
        if env["PATH_INFO"] == "/slow":
            started.send()
            release.wait()
        start_response("200 OK", [])
        return [b"done"]

    listener = greenlane.listen(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = greenlane.spawn(wsgi.server, listener, app, log_output=False)
    from greenlane.green import socket as gsocket

    idle = gsocket.create_connection(("127.0.0.1", port))
    busy = gsocket.create_connection(("127.0.0.1", port))
    idle.settimeout(HANG_GUARD)
    busy.settimeout(HANG_GUARD)
    busy.sendall(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
    started.wait()
    stopper = greenlane.spawn(server.kill)
    greenlane.sleep(0)
    assert idle.recv(10) == b""  # the idle connection was closed at once
    release.send()
    stopper.wait()
    response = read_to_close(busy)
    assert response.endswith(b"done")
    assert b"Connection: close" in response
    try:
        server.wait()
    except greenlane.GreenletExit:
        pass
    idle.close()
    busy.close()


def test_stop_timeout_ends_a_request_that_does_not_finish() -> None:
    never = greenlane.Event()

    def app(env: dict[str, Any], start_response: Any) -> list[bytes]:
        never.wait()
        return []

    with serving(app, stop_timeout=0.05) as srv, srv.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        greenlane.sleep(0.01)
    assert not never.ready()


def test_is_accepting_false_stops_the_accept_loop() -> None:
    listener = greenlane.listen(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = greenlane.spawn(wsgi.server, listener, wsgi_support.hello, log_output=False)
    greenlane.sleep(0)
    wsgi.is_accepting = False
    try:
        from greenlane.green import socket as gsocket

        with gsocket.create_connection(("127.0.0.1", port)) as sock:
            sock.settimeout(HANG_GUARD)
            sock.sendall(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
            read_to_close(sock)  # accepted, then closed unserved as an idle connection: stopping
        server.wait()  # the loop checked the flag after its current accept, and ended
        assert listener.fileno() == -1
    finally:
        wsgi.is_accepting = True


def test_a_flask_app_runs() -> None:
    flask = pytest.importorskip("flask")
    app = flask.Flask("greenlane_test")

    @app.route("/hello/<name>", methods=["POST"])
    def hello_route(name: str) -> Any:
        return flask.jsonify(name=name, data=flask.request.get_data(as_text=True), q=flask.request.args["q"])

    with serving(app) as srv:
        raw = (
            b"POST /hello/world?q=1 HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"
        )
        response = srv.exchange(raw)
        assert status_of(response) == 200
        assert b'"name":"world"' in response.replace(b" ", b"")
        assert b'"data":"abc"' in response.replace(b" ", b"")


@pytest.mark.parametrize(
    "cut",
    [b"10\r\nhal", b"5\r\nhello", b"5\r\nhello\r\n", b"5\r\nhello\r\n3"],
    ids=["inside-data", "after-data", "after-crlf", "inside-size-line"],
)
def test_a_chunked_body_cut_off_raises_chunk_read_error_that_is_an_oserror(cut: bytes) -> None:
    """eventlet raises IOError or ChunkReadError depending on where the body stopped; both are caught."""
    caught: list[BaseException] = []
    done = greenlane.Event()

    def app(env: dict[str, Any], start_response: Any) -> list[bytes]:
        try:
            env["wsgi.input"].read(1024)
        except Exception as exc:
            caught.append(exc)
        done.send(True)
        start_response("200 OK", [])
        return [b""]

    with serving(app) as srv:
        with srv.connect() as sock:
            sock.sendall(b"PUT / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + cut)
        done.wait()
    assert len(caught) == 1
    assert isinstance(caught[0], wsgi.ChunkReadError) and isinstance(caught[0], OSError)
    assert "unexpected end of file" in str(caught[0])


def test_a_thousand_clients_leaving_mid_body_leave_no_thread_or_fd() -> None:
    """Clients that disconnect mid-body and mid-chunk free their green thread and fd."""
    import os

    def app(env: dict[str, Any], start_response: Any) -> list[bytes]:
        env["wsgi.input"].read()
        start_response("200 OK", [])
        return [b""]

    with serving(app, log_output=False) as srv:
        before = len(os.listdir("/proc/self/fd"))
        for i in range(1000):
            with srv.connect() as sock:
                if i % 2:
                    sock.sendall(b"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\nhalf")
                else:
                    sock.sendall(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nhal")
            if i % 100 == 99:
                greenlane.sleep(0.01)
        for _ in range(200):
            if len(os.listdir("/proc/self/fd")) <= before:
                break
            greenlane.sleep(0.01)
        assert len(os.listdir("/proc/self/fd")) <= before
        assert status_of(srv.get()) == 200


def test_missing_httptools_names_the_extra() -> None:
    result = run_script(
        """
        import sys
        sys.modules["httptools"] = None  # as if not installed
        try:
            import greenlane.wsgi
        except ImportError as exc:
            print(exc)
        """
    )
    assert "pip install 'greenlane[wsgi]'" in result.stdout, result
