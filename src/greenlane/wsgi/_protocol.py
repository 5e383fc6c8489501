"""``HttpProtocol``: one connection, its requests in order, each through the WSGI application.

eventlet's shape, kept for the code that subclasses it: constructing the
protocol runs the whole connection (``setup``, ``handle``, ``finish``);
``handle`` calls ``handle_one_request`` until the connection closes;
``handle_one_request`` reads a head, builds ``self.environ`` with
``get_environ()`` and calls ``handle_one_response``. The attributes
subclasses read are there (``command``, ``path``, ``request_version``,
``requestline``, ``headers`` as a ``MessageClass``, ``environ``,
``close_connection``, ``conn_state``, ``server``, ``connection``).

What is not eventlet's. Parsing is the adapter in ``_parser`` (llhttp), fed
from one ``recv`` at a time, so pipelined requests queue and are answered in
order. Timeouts come in three kinds: an idle keep-alive connection may wait
``server.keepalive_timeout`` for its next request's first byte, a started head
must be complete within ``server.header_timeout`` (slowloris), and the body and
response use ``socket_timeout`` as in eventlet. The response is written with
one ``sendall`` per ``write`` (head and first body chunk together), and headers
from the application containing CR, LF or NUL are refused before anything is
sent (a 500 instead: response splitting is never the server's doing).

Invariant: after a request the connection stays open only if the parser is
at a request boundary (body fully read or discarded) and nothing made the
framing doubtful (an upgrade, an error, a client that asked to close).
"""

from __future__ import annotations

import time
import traceback
from http.client import HTTPMessage
from typing import Any, ClassVar
from urllib.parse import unquote

from ..greenthread import getcurrent
from ..timeout import Timeout
from ._common import (
    ALREADY_HANDLED,
    BAD_SOCK,
    BROKEN_SOCK,
    MINIMUM_CHUNK_SIZE,
    STATE_CLOSE,
    STATE_IDLE,
    STATE_REQUEST,
    WSGI_LOCAL,
    addr_to_host_port,
    date_line,
    log_date_time_string,
)
from ._headers import Head, encode_header_line, env_key, response_head
from ._input import ChunkReadError, Input
from ._parser import BadRequest, Message, RequestParser

__all__ = ["HttpProtocol"]

RECV_SIZE = 65536


class HttpProtocol:
    """Serves one client connection (eventlet's ``HttpProtocol``; subclass to customise)."""

    protocol_version: str = "HTTP/1.1"
    default_request_version: ClassVar[str] = "HTTP/0.9"
    MessageClass: ClassVar[type[HTTPMessage]] = HTTPMessage
    minimum_chunk_size: int = MINIMUM_CHUNK_SIZE
    capitalize_response_headers: bool = True
    reject_bad_requests: ClassVar[bool] = True

    def __init__(self, conn_state: list[Any], server: Any) -> None:
        self.request = conn_state[1]
        self.client_address = conn_state[0]
        self.conn_state = conn_state
        self.server = server
        if server.minimum_chunk_size is not None:
            self.minimum_chunk_size = server.minimum_chunk_size
        self.capitalize_response_headers = server.capitalize_response_headers
        self.setup()
        try:
            self.handle()
        finally:
            self.finish()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} client={self.client_address!r} state={self.conn_state[2]}>"

    # -- connection -------------------------------------------------------------

    def setup(self) -> None:
        """Prepare the connection (the parser, the per-connection environ entries)."""
        self.connection = self.request
        self.close_connection = True
        self.command = ""
        self.path = ""
        self.request_version = self.default_request_version
        self._requestline: str | None = ""
        self._message: Message | None = None
        self._headers: HTTPMessage | None = None
        self._parser = RequestParser(self.server.limits)
        self._conn_environ: dict[str, Any] | None = None
        self._conn_environ_is_full = False
        self.green_thread = getcurrent()  # where the deadline watcher throws TimeoutError

    def handle(self) -> None:
        """Serve requests until the connection closes."""
        self.close_connection = True
        while True:
            self.handle_one_request()
            if self.conn_state[2] == STATE_CLOSE:
                self.close_connection = True
            else:
                self.conn_state[2] = STATE_IDLE
            if self.close_connection:
                break

    def finish(self) -> None:
        """Close the connection."""
        self.server.deadlines.clear(self)
        sock = self.connection
        try:
            sock.shutdown(2)  # SHUT_RDWR: the client sees the end at once
        except OSError:
            pass
        sock.close()

    # -- reading a request head ------------------------------------------------

    def receive(self) -> bool:
        """One more ``recv`` fed to the parser; False at end of stream (``Input`` calls it)."""
        parser = self._parser
        if parser.error is not None:
            raise parser.error  # the stream is unreadable past it: never wait for more
        data = self.connection.recv(RECV_SIZE)
        if not data:
            return False
        parser.feed(data)
        return True

    @property
    def in_chunk(self) -> bool:
        """Inside a chunk's data (for ``Input``'s end-of-stream error)."""
        return self._parser.in_chunk

    def send_interim(self, data: bytes) -> None:
        """Send bytes before the response (``100 Continue``)."""
        self.connection.sendall(data)

    def take_upgrade_tail(self) -> bytes:
        """Bytes read past an upgrade request's head; they belong to the new protocol."""
        tail = self._parser.upgrade_tail or b""
        self._parser.upgrade_tail = b""
        return tail

    def _read_head(self) -> Message | None:
        """The next request's head, or None when the connection should close (answered if need be)."""
        parser = self._parser
        if parser.messages:
            return parser.messages.popleft()  # pipelined: already parsed
        if parser.upgrade_tail is not None:
            return None  # the parser stopped at an upgrade
        if parser.error is not None:  # found after requests that were answered first
            self._refuse(parser.error.status, parser.error.reason)
            return None
        recv = self.connection.recv
        server = self.server
        deadlines = server.deadlines
        started = False
        # The idle keep-alive timeout, then (from the first byte) the head deadline: kept
        # by the server's deadline watcher, which throws TimeoutError in here when one
        # passes (cheaper than a timer per recv; see Deadlines).
        deadlines.set(self, server.keepalive_timeout)
        try:
            while not parser.messages:
                data = recv(RECV_SIZE)
                if not data:
                    return None
                parser.feed(data)
                if not started and not parser.messages:
                    started = True
                    deadlines.set(self, server.head_timeout)
        except BadRequest as exc:
            self._refuse(exc.status, exc.reason)
            return None
        except TimeoutError:
            if started and server.head_timeout_answers:
                self._refuse(408, "Request Timeout")
            server.log.debug(f"({server.pid}) timed out {self.client_address!r}")
            return None
        except OSError as exc:
            if exc.errno in BROKEN_SOCK:
                server.log.debug(f"({server.pid}) connection reset by peer {self.client_address!r}")
            elif exc.errno not in BAD_SOCK:
                raise
            return None
        finally:
            deadlines.clear(self)
        return parser.messages.popleft()

    def _refuse(self, status: int, reason: str) -> None:
        """Answer a request the server refuses, with the connection closing after it."""
        body = f"{reason}\n".encode("latin-1", "replace")
        head = f"HTTP/1.1 {status} {reason.split(' (', maxsplit=1)[0]}\r\nConnection: close\r\n"
        head += f"Content-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n"
        try:
            self.connection.sendall(head.encode("latin-1") + body)
        except OSError:
            pass
        self.close_connection = True
        server = self.server
        server.log.info(f"({server.pid}) refused a request from {self.client_address!r}: {status} {reason}")

    # -- one request -------------------------------------------------------------

    def handle_one_request(self) -> None:
        """Read one request and answer it (or decide to close)."""
        server = self.server
        if server.max_http_version:
            self.protocol_version = server.max_http_version
        message = self._read_head()
        self.conn_state[2] = STATE_REQUEST
        if message is None:
            self.close_connection = True
            return
        self._message = message
        self._headers = None
        self.command = message.method
        self.path = message.target.decode("latin-1")
        self.request_version = message.version
        self._requestline = None
        # Closes after this response unless the response decides to keep it (see write()).
        self.close_connection = not message.keep_alive or message.upgrade
        self.environ = self.get_environ()
        self.application = server.app
        server.outstanding_requests += 1
        try:
            self.handle_one_response()
        except OSError as exc:
            if exc.errno not in BROKEN_SOCK:
                raise
            self.close_connection = True
        finally:
            server.outstanding_requests -= 1

    @property
    def requestline(self) -> str:
        """``"GET /path HTTP/1.1"`` (built on first use: the access log and subclasses read it)."""
        line = self._requestline
        if line is None:
            line = self._requestline = f"{self.command} {self.path} {self.request_version}"
        return line

    @requestline.setter
    def requestline(self, value: str) -> None:
        self._requestline = value

    @property
    def raw_requestline(self) -> bytes:
        """The request line as bytes, with its CRLF (``BaseHTTPRequestHandler``'s name)."""
        return self.requestline.encode("latin-1") + b"\r\n"

    @property
    def headers(self) -> HTTPMessage:
        """The request's headers as a ``MessageClass`` (built on first use)."""
        headers = self._headers
        if headers is None:
            headers = self._headers = self.MessageClass()
            if self._message is not None:
                for name, value in self._message.headers:
                    headers[name.decode("latin-1")] = value.decode("latin-1").strip(" \t")
        return headers

    def get_client_address(self) -> tuple[Any, Any]:
        """``(host, port)`` for the access log (with ``X-Forwarded-For`` first if the server logs it)."""
        host, port = addr_to_host_port(self.client_address)
        if self.server.log_x_forwarded_for:
            forward = self.environ.get("HTTP_X_FORWARDED_FOR", "").replace(" ", "")
            if forward:
                host = f"{forward},{host}"
        return host, port

    def formalize_key_naming(self, k: str) -> str | None:
        """The environ key for header ``k`` without ``HTTP_``; None for names with ``_`` (dropped)."""
        if "_" in k:
            return None
        return k.replace("-", "_").upper()

    def handle_expect_100(self) -> bool:
        """Kept for eventlet's subclasses; ``Input`` sends the ``100 Continue`` on first read."""
        return True

    def log_date_time_string(self) -> str:
        """The access log's time stamp."""
        return log_date_time_string()

    def get_environ(self) -> dict[str, Any]:
        """The WSGI environ for the current request."""
        message = self._message
        assert message is not None
        conn_env = self._conn_environ
        if conn_env is None:
            server_host, server_port = addr_to_host_port(self.connection.getsockname())
            client_host, client_port = addr_to_host_port(self.client_address)
            conn_env = {
                "SCRIPT_NAME": "",
                "SERVER_NAME": str(server_host),
                "SERVER_PORT": str(server_port),
                "REMOTE_ADDR": str(client_host),
                "REMOTE_PORT": str(client_port),
                "GATEWAY_INTERFACE": "CGI/1.1",
                "CONTENT_TYPE": "text/plain",  # eventlet's default when the client sent none
                "eventlet.set_idle": self._set_idle,
            }
            if type(self.server).get_environ is getattr(type(self.server), "_stock_get_environ", None):
                # The stock Server's entries never change: copy them with these, once.
                conn_env = {**self.server.get_environ(), **conn_env}
                self._conn_environ_is_full = True
            self._conn_environ = conn_env
        if self._conn_environ_is_full:
            env: dict[str, Any] = conn_env.copy()
        else:
            env = self.server.get_environ()
            env.update(conn_env)
        env["REQUEST_METHOD"] = message.method
        path = self.path
        path, question, query = path.partition("?")
        env["RAW_PATH_INFO"] = path
        env["PATH_INFO"] = unquote(path, encoding="latin-1") if "%" in path else path
        if question:
            env["QUERY_STRING"] = query
        env["SERVER_PROTOCOL"] = message.version
        raw = []
        for name, value in message.headers:
            text = value.decode("latin-1").strip(" \t")
            raw.append((name.decode("latin-1"), text))
            key = env_key(name)
            if key is None:
                continue
            if key in env and key.startswith("HTTP_"):
                env[key] += "," + text
            else:
                env[key] = text
        env["headers_raw"] = tuple(raw)
        if message.content_length is None and not message.chunked:
            env.pop("CONTENT_LENGTH", None)
        wfile_line = None
        if "HTTP_EXPECT" in env and env["HTTP_EXPECT"].lower() == "100-continue":  # as eventlet, any version
            wfile_line = b"HTTP/1.1 100 Continue\r\n"
        env["wsgi.input"] = env["eventlet.input"] = env["greenlane.input"] = Input(
            self, message, self.connection, wfile_line
        )
        env["eventlet.posthooks"] = []
        return env

    def _set_idle(self) -> None:
        self.conn_state[2] = STATE_IDLE

    # -- the response -------------------------------------------------------------

    def handle_one_response(self) -> None:
        """Run the application and send what it returns."""
        server = self.server
        start = time.time() if server.log_output else 0.0
        env = self.environ
        message = self._message
        assert message is not None
        request_input = env["eventlet.input"]
        headers_sent: list[int] = []
        request_input.headers_sent = headers_sent
        sendall = self.connection.sendall
        http11 = message.version == "HTTP/1.1" and self.protocol_version == "HTTP/1.1"
        method = message.method
        head: Head | None = None  # set by start_response
        header_pairs: Any = ()
        content_length = ""  # the line the server adds when it knows the length
        chunked = bodyless = False
        status_code = 200
        length = 0

        def write(data: bytes) -> None:
            nonlocal chunked, length
            if head is None:
                raise AssertionError("write() before start_response()")
            if not headers_sent:
                lines = head.block + content_length
                if not head.has_date:
                    lines += date_line()
                keep = not self.close_connection and bool(server.keepalive)
                keep = keep and self.conn_state[2] != STATE_CLOSE  # stopping: this is the last
                if not head.has_length and not content_length and not bodyless:
                    if http11:
                        chunked = True
                        lines += "Transfer-Encoding: chunked\r\n"
                    else:
                        keep = False  # an HTTP/1.0 client reads the body to the end of the stream
                if head.closes:
                    keep = False  # the application said so, in its own Connection header
                self.close_connection = not keep
                if not keep:
                    if not head.closes:
                        lines += "Connection: close\r\n"
                elif message.version == "HTTP/1.0" or "keep-alive" in env.get("HTTP_CONNECTION", "").lower():
                    lines += "Connection: keep-alive\r\n"  # echoed to a client that asked
                    if server.keepalive is not True and int(server.keepalive):
                        lines += f"Keep-Alive: timeout={int(server.keepalive)}\r\n"
                try:
                    out = (lines + "\r\n").encode("latin-1")
                except UnicodeEncodeError:
                    for name, value in header_pairs:
                        encode_header_line((name, value))  # raises, naming the culprit
                    raise
                headers_sent.append(1)
                # One send for the head and the first piece of the body.
                if data:
                    out += b"%x\r\n%s\r\n" % (len(data), data) if chunked else data
            elif chunked:
                if not data:
                    return
                out = b"%x\r\n%s\r\n" % (len(data), data)
            else:
                out = data
            sendall(out)
            length += len(out)

        def start_response(status: str, response_headers: Any, exc_info: Any = None) -> Any:
            nonlocal head, header_pairs, bodyless, status_code, content_length
            if exc_info:
                try:
                    if headers_sent:
                        raise exc_info[1].with_traceback(exc_info[2])
                finally:
                    exc_info = None
            head = response_head(
                self.protocol_version, status, response_headers, self.capitalize_response_headers
            )
            code = status_code = head.code
            content_length = ""
            bodyless = (
                code in (204, 304)
                or method == "HEAD"
                or 100 <= code < 200
                or (method == "CONNECT" and 200 <= code < 300)
            )
            header_pairs = response_headers
            return write

        result = None
        try:
            try:
                result = self.application(env, start_response)
                if result is ALREADY_HANDLED:
                    result = []
                    WSGI_LOCAL.already_handled = True
                # A complete response whose length is known: send a Content-Length.
                elif (
                    head is not None
                    and not headers_sent
                    and (type(result) is list or hasattr(result, "__len__"))
                ):
                    if not head.has_length and not bodyless:
                        size = 0
                        for item in result:
                            size += len(item)
                        content_length = f"Content-Length: {size}\r\n"
                    if request_input.should_send_hundred_continue:
                        self.close_connection = True  # the client may still send the body: don't guess
                if not result and getattr(WSGI_LOCAL, "already_handled", False):
                    # The application answered on the raw socket (WebSocket): nothing more here.
                    WSGI_LOCAL.already_handled = False
                    self.close_connection = True
                    return
                if (
                    not headers_sent
                    and type(result) is list
                    and len(result) == 1
                    and type(result[0]) is bytes
                ):
                    write(result[0])  # the common case: one piece, sent with the head
                else:
                    self._write_body(result, write, headers_sent)
                if chunked:
                    sendall(b"0\r\n\r\n")
                    length += 5
            except (Exception, Timeout) as exc:
                self.close_connection = True
                refusal = self._parser.error
                if isinstance(exc, ChunkReadError) and refusal is not None and not headers_sent:
                    self._refuse(refusal.status, refusal.reason)  # the client's fault, not the app's
                    return
                server.log.info(traceback.format_exc())
                if not headers_sent:
                    body = traceback.format_exc().encode() if server.debug else b""
                    start_response(
                        "500 Internal Server Error",
                        [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))],
                    )
                    write(body)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
            if request_input.should_send_hundred_continue:
                self.close_connection = True  # a final response and no 100 Continue: see above
            if not message.complete and not self.close_connection:
                try:
                    request_input.discard()
                except (ChunkReadError, OSError) as exc:
                    self.close_connection = True
                    server.log.error(
                        f"error while discarding request body. client={self.get_client_address()[0]} "
                        f'request="{self.requestline}" error="{exc}"'
                    )
                if not message.complete:
                    self.close_connection = True  # the client left mid-body
            if env["eventlet.posthooks"] or server.log_output:
                self._after_response(start, status_code, length)

    def _write_body(self, result: Any, write: Any, headers_sent: list[int]) -> None:
        """Send the pieces of ``result``, joined up to ``minimum_chunk_size`` bytes a send."""
        minimum = self.minimum_chunk_size
        env = self.environ
        if "eventlet.minimum_write_chunk_size" in env:
            minimum = int(env["eventlet.minimum_write_chunk_size"])
        towrite: list[bytes] = []
        towrite_size = 0
        for item in result:
            if not item:
                continue
            data = item.encode("ascii") if isinstance(item, str) else item
            towrite.append(data)
            towrite_size += len(data)
            if towrite_size >= minimum:
                write(towrite[0] if len(towrite) == 1 else b"".join(towrite))
                towrite = []
                towrite_size = 0
        if towrite or not headers_sent:
            write(b"".join(towrite))

    def _after_response(self, start: float, status_code: int, length: int) -> None:
        """Posthooks, then the access-log line."""
        env = self.environ
        server = self.server
        finish = time.time()
        for hook, args, kwargs in env["eventlet.posthooks"]:
            hook(env, *args, **kwargs)
        if server.log_output:
            client_host, client_port = self.get_client_address()
            server.log.info(
                server.log_format
                % {
                    "client_ip": client_host,
                    "client_port": client_port,
                    "date_time": self.log_date_time_string(),
                    "request_line": self.requestline,
                    "status_code": status_code,
                    "body_length": length,
                    "wall_seconds": finish - start,
                }
            )
