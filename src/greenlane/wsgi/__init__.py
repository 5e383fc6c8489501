"""``greenlane.wsgi``: eventlet's WSGI server API on a strict, fast HTTP/1.1 core.

``server(sock, app)`` accepts connections on a listening socket and serves
each in a green thread from a pool, with eventlet's signature, its
``Server``/``HttpProtocol`` classes for subclasses, its environ keys
(``eventlet.input``, ``eventlet.posthooks``, ``eventlet.set_idle``,
``eventlet.minimum_write_chunk_size``) and its access-log format.

Parsing is httptools (llhttp) behind the adapter in ``_parser``: an optional
dependency, installed by the ``greenlane[wsgi]`` extra; the rest of greenlane
never imports it. How the server differs from eventlet's, on purpose:

- Requests that could be read two ways are refused with a 4xx and the
  connection closed (``_parser`` lists the cases); so are heads past the size
  limits (414/431) and heads not complete within ``header_timeout`` (408).
- A keep-alive connection idle longer than ``KEEPALIVE_TIMEOUT`` seconds (or
  ``keepalive=<seconds>``) is closed; eventlet waits forever by default.
- Response headers with CR, LF or NUL are refused: a 500, nothing of them sent.
- ``accept`` failing with EMFILE/ENFILE (out of fds) is logged and retried
  after a growing pause instead of ending the server.
- On a TLS listening socket the handshake runs in the connection's green
  thread, so one slow client cannot stall ``accept``.
- Stopping (the green thread running ``server`` killed, ``is_accepting``
  set False, or the listening socket closed) is graceful: idle connections
  close, in-flight requests finish, within ``stop_timeout`` seconds if given.
"""

from __future__ import annotations

import errno
import os
import ssl
import sys
import time
import warnings
from typing import Any

from .. import greenthread
from ..greenio import shutdown_safe
from ..greenpool import GreenPool
from ..timeout import Timeout
from ._common import (
    ALREADY_HANDLED,
    BAD_SOCK,
    BROKEN_SOCK,
    DEFAULT_LOG_FORMAT,
    DEFAULT_MAX_HTTP_VERSION,
    DEFAULT_MAX_SIMULTANEOUS_REQUESTS,
    HEADER_TIMEOUT,
    KEEPALIVE_TIMEOUT,
    MAX_HEADER_COUNT,
    MAX_HEADER_LINE,
    MAX_REQUEST_LINE,
    MAX_TOTAL_HEADER_SIZE,
    MINIMUM_CHUNK_SIZE,
    RESPONSE_414,
    STATE_CLOSE,
    STATE_IDLE,
    STATE_REQUEST,
    WSGI_LOCAL,
    LoggerFileWrapper,
    LoggerNull,
    addr_to_host_port,
    format_date_time,
    get_logger,
)
from ._headers import encode_header_line as _encode_header_line
from ._input import ChunkedBodyCut, ChunkReadError, Input
from ._parser import BadRequest, Limits
from ._protocol import HttpProtocol

__all__ = [
    "ACCEPT_BACKOFF_FIRST",
    "ACCEPT_BACKOFF_MAX",
    "ALREADY_HANDLED",
    "BAD_SOCK",
    "BROKEN_SOCK",
    "DEFAULT_LOG_FORMAT",
    "DEFAULT_MAX_HTTP_VERSION",
    "DEFAULT_MAX_SIMULTANEOUS_REQUESTS",
    "HEADER_TIMEOUT",
    "KEEPALIVE_TIMEOUT",
    "MAX_HEADER_COUNT",
    "MAX_HEADER_LINE",
    "MAX_REQUEST_LINE",
    "MAX_TOTAL_HEADER_SIZE",
    "MINIMUM_CHUNK_SIZE",
    "RESPONSE_414",
    "STATE_CLOSE",
    "STATE_IDLE",
    "STATE_REQUEST",
    "WSGI_LOCAL",
    "BadRequest",
    "ChunkReadError",
    "ChunkedBodyCut",
    "HttpProtocol",
    "Input",
    "LoggerFileWrapper",
    "LoggerNull",
    "Server",
    "_encode_header_line",
    "addr_to_host_port",
    "format_date_time",
    "get_logger",
    "is_accepting",
    "server",
    "socket_repr",
]

# eventlet's switch: set it False and the accept loop ends after its current accept.
is_accepting = True

# Out of fds: pause accepting this long, doubling up to the cap, instead of spinning.
ACCEPT_BACKOFF_FIRST = 0.01
ACCEPT_BACKOFF_MAX = 1.0
_OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
# A client that gave up before accept() returned: nothing to serve, keep accepting.
_CLIENT_GONE = frozenset({errno.ECONNABORTED, errno.EPROTO, errno.EPERM, errno.ECONNRESET})


class Deadlines:
    """Idle and head deadlines of the server's connections, kept by one watcher green thread.

    A timeout on every keep-alive ``recv`` would arm and cancel a hub timer per
    request, which measured as a large share of the whole request's cost. Instead
    each connection waiting for a head records its deadline here (a dict store),
    and one green thread per server wakes every ``interval`` seconds and throws
    ``TimeoutError`` into the connections whose deadline has passed. A deadline is
    only ever set while its connection is parked in ``recv`` waiting for a head,
    so the exception lands there. The watcher runs only while deadlines exist.
    """

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._due: dict[Any, float] = {}
        self._watcher: Any = None

    def __repr__(self) -> str:
        return f"<Deadlines connections={len(self._due)} interval={self.interval}>"

    def set(self, protocol: Any, seconds: float) -> None:
        """``protocol`` times out ``seconds`` from now unless cleared first."""
        self._due[protocol] = time.monotonic() + seconds
        if self._watcher is None:
            self._watcher = greenthread.spawn(self._watch)

    def clear(self, protocol: Any) -> None:
        """No deadline for ``protocol`` (any more)."""
        self._due.pop(protocol, None)

    def stop(self) -> None:
        """End the watcher (the server is exiting)."""
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.kill()

    def _watch(self) -> None:
        due = self._due
        try:
            while due:
                # Until the earliest deadline, and at least every interval (a deadline set
                # meanwhile may be earlier than the one slept for).
                now = time.monotonic()
                greenthread.sleep(max(0.0, min(self.interval, min(due.values()) - now)))
                now = time.monotonic()
                for protocol, deadline in [item for item in due.items() if item[1] <= now]:
                    if due.get(protocol) == deadline:
                        del due[protocol]
                        greenthread.kill(protocol.green_thread, TimeoutError("timed out"))
        finally:
            if self._watcher is greenthread.getcurrent():
                self._watcher = None


class Server:
    """The server's settings and shared state; ``protocol(conn_state, self)`` serves a connection."""

    def __init__(  # noqa: PLR0917 - eventlet's signature
        self,
        socket: Any,
        address: Any,
        app: Any,
        log: Any = None,
        environ: dict[str, Any] | None = None,
        max_http_version: str | None = None,
        protocol: type[HttpProtocol] = HttpProtocol,
        minimum_chunk_size: int | None = None,
        log_x_forwarded_for: bool = True,
        keepalive: bool | float = True,
        log_output: bool = True,
        log_format: str = DEFAULT_LOG_FORMAT,
        url_length_limit: int = MAX_REQUEST_LINE,
        debug: bool = True,
        socket_timeout: float | None = None,
        capitalize_response_headers: bool = True,
        *,
        header_timeout: float = HEADER_TIMEOUT,
    ) -> None:
        self.outstanding_requests = 0
        self.socket = socket
        self.address = address
        self.log: Any = get_logger(log, debug) if log_output else LoggerNull()
        self.app = app
        self.keepalive = keepalive
        self.environ = environ
        self.max_http_version = max_http_version
        self.protocol = protocol
        self.pid = os.getpid()
        self.minimum_chunk_size = minimum_chunk_size
        self.log_x_forwarded_for = log_x_forwarded_for
        self.log_output = log_output
        self.log_format = log_format
        self.url_length_limit = url_length_limit
        self.debug = debug
        self.socket_timeout = socket_timeout
        self.capitalize_response_headers = capitalize_response_headers
        if not header_timeout > 0:
            raise ValueError(f"header_timeout must be a positive number of seconds, not {header_timeout!r}")
        self.header_timeout = header_timeout
        if keepalive is True or not keepalive:
            # eventlet: without a numeric keepalive, socket_timeout bounds the wait.
            self.keepalive_timeout: float = min(KEEPALIVE_TIMEOUT, socket_timeout or KEEPALIVE_TIMEOUT)
        else:
            self.keepalive_timeout = float(keepalive)
        # A head started must be whole within header_timeout (408), and no read of it may
        # wait longer than socket_timeout (then closed quietly, as eventlet does).
        self.head_timeout = min(header_timeout, socket_timeout or header_timeout)
        self.head_timeout_answers = self.head_timeout == header_timeout
        self.limits = Limits(url_length_limit, MAX_HEADER_LINE, MAX_TOTAL_HEADER_SIZE, MAX_HEADER_COUNT)
        # Deadlines are kept to about a quarter of the shorter timeout (at most a second late).
        self.deadlines = Deadlines(min(1.0, max(0.01, min(self.keepalive_timeout, self.head_timeout) / 4)))
        self.tls = isinstance(socket, ssl.SSLSocket)
        if not capitalize_response_headers:
            warnings.warn(
                "capitalize_response_headers is disabled: HTTP header names are case-insensitive; "
                "fix the client that needs exact case",
                DeprecationWarning,
                stacklevel=3,
            )

    def __repr__(self) -> str:
        return f"<Server {self.address!r} outstanding={self.outstanding_requests}>"

    def get_environ(self) -> dict[str, Any]:
        """The environ entries every request starts from (plus the ``environ`` given to ``server``)."""
        env: dict[str, Any] = {
            "wsgi.errors": sys.stderr,
            "wsgi.version": (1, 0),
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "wsgi.url_scheme": "http",
        }
        if self.tls:
            env["wsgi.url_scheme"] = "https"
            env["HTTPS"] = "on"
        if self.environ is not None:
            env.update(self.environ)
        return env

    # The stock ``get_environ``: a subclass that overrides it is asked per request (_protocol).
    _stock_get_environ = get_environ

    def process_request(self, conn_state: list[Any]) -> None:
        """Serve one accepted connection (TLS handshake first on a TLS listener)."""
        try:
            if self.tls and not isinstance(conn_state[1], ssl.SSLSocket):
                conn = conn_state[1]
                conn.settimeout(self.header_timeout)
                conn_state[1] = tls = self.socket.context.wrap_socket(
                    conn, server_side=True, do_handshake_on_connect=False
                )
                try:
                    tls.do_handshake()
                except (OSError, ValueError) as exc:
                    self.log.debug(f"({self.pid}) TLS handshake failed {conn_state[0]!r}: {exc}")
                    tls.close()
                    return
                tls.settimeout(self.socket_timeout)
            self.protocol(conn_state, self)
        except TimeoutError:
            conn_state[1].close()
            self.log.debug(f"({self.pid}) timed out {conn_state[0]!r}")

    def log_message(self, message: str) -> None:
        """Removed in eventlet; use ``server.log.info``."""
        raise AttributeError("wsgi.Server.log_message was removed; use server.log.info instead")


def socket_repr(sock: Any) -> str:
    """``http://host:port`` (or ``https:``, or a Unix path) for the listening socket."""
    scheme = "https" if isinstance(sock, ssl.SSLSocket) else "http"
    name = sock.getsockname()
    if sock.family == 2:  # AF_INET
        return f"{scheme}://{name[0]}:{name[1]}"
    if sock.family == 10:  # AF_INET6
        return f"{scheme}://[{name[0]}]:{name[1]}"
    return f"{scheme}:{name}"


def _accept_plain(sock: Any) -> tuple[Any, Any]:
    """Accept without a TLS handshake (it runs later, in the connection's own green thread)."""
    if isinstance(sock, ssl.SSLSocket):
        from ..green import socket as _gsocket

        return _gsocket.socket.accept(sock)  # type: ignore[arg-type]
    return sock.accept()  # type: ignore[no-any-return]


def server(  # noqa: PLR0917 - eventlet's signature
    sock: Any,
    site: Any,
    log: Any = None,
    environ: dict[str, Any] | None = None,
    max_size: int | None = None,
    max_http_version: str = DEFAULT_MAX_HTTP_VERSION,
    protocol: type[HttpProtocol] = HttpProtocol,
    server_event: Any = None,
    minimum_chunk_size: int | None = None,
    log_x_forwarded_for: bool = True,
    custom_pool: Any = None,
    keepalive: bool | float = True,
    log_output: bool = True,
    log_format: str = DEFAULT_LOG_FORMAT,
    url_length_limit: int = MAX_REQUEST_LINE,
    debug: bool = True,
    socket_timeout: float | None = None,
    capitalize_response_headers: bool = True,
    *,
    header_timeout: float = HEADER_TIMEOUT,
    stop_timeout: float | None = None,
) -> None:
    """Serve the WSGI application ``site`` on the listening socket ``sock`` until stopped.

    eventlet's arguments, same meanings; ``keepalive`` numeric is the idle
    timeout between requests. greenlane adds ``header_timeout`` (a request
    head must arrive within it) and ``stop_timeout`` (on stop, in-flight
    requests get this long before their green threads are killed; None:
    wait for them, as eventlet). Stops when its green thread is killed,
    when ``is_accepting`` is set False, or when ``sock`` is closed; closes
    ``sock`` on the way out.
    """
    serv = Server(
        sock,
        sock.getsockname(),
        site,
        log,
        environ=environ,
        max_http_version=max_http_version,
        protocol=protocol,
        minimum_chunk_size=minimum_chunk_size,
        log_x_forwarded_for=log_x_forwarded_for,
        keepalive=keepalive,
        log_output=log_output,
        log_format=log_format,
        url_length_limit=url_length_limit,
        debug=debug,
        socket_timeout=socket_timeout,
        capitalize_response_headers=capitalize_response_headers,
        header_timeout=header_timeout,
    )
    if server_event is not None:
        warnings.warn("wsgi.server(server_event=...) is deprecated", DeprecationWarning, stacklevel=2)
        server_event.send(serv)
    pool = custom_pool
    if pool is None:
        pool = GreenPool(max_size or DEFAULT_MAX_SIMULTANEOUS_REQUESTS)
    if not (hasattr(pool, "spawn") and hasattr(pool, "waitall")):
        raise AttributeError("wsgi.server's custom_pool must have spawn() and waitall(); use a GreenPool")
    # id(conn_state) -> (conn_state, its green thread); conn_state is eventlet's [addr, socket, state].
    connections: dict[int, tuple[list[Any], Any]] = {}

    def _clean_connection(_gt: Any, conn_state: list[Any]) -> None:
        connections.pop(id(conn_state), None)
        conn_state[2] = STATE_CLOSE
        conn_state[1].close()

    backoff = 0.0
    try:
        serv.log.info(f"({serv.pid}) wsgi starting up on {socket_repr(sock)}")
        while is_accepting:
            try:
                client_socket, client_addr = _accept_plain(sock)
            except OSError as exc:
                if exc.errno in _OUT_OF_RESOURCES:
                    backoff = min(ACCEPT_BACKOFF_MAX, backoff * 2 or ACCEPT_BACKOFF_FIRST)
                    serv.log.error(
                        f"({serv.pid}) wsgi accept failed ({os.strerror(exc.errno or 0)}); "
                        f"pausing {backoff:.2f} s"
                    )
                    greenthread.sleep(backoff)
                    continue
                if exc.errno in _CLIENT_GONE:
                    continue
                if exc.errno in BROKEN_SOCK or exc.errno in BAD_SOCK or exc.errno == errno.ENOTCONN:
                    break  # the listening socket was shut down or closed: stop
                if type(exc).__name__ == "IOClosed" or sock.fileno() < 0:
                    break
                raise
            except (KeyboardInterrupt, SystemExit):
                serv.log.info("wsgi exiting")
                break
            backoff = 0.0
            client_socket.settimeout(serv.socket_timeout)
            serv.log.debug(f"({serv.pid}) accepted {client_addr!r}")
            conn_state = [client_addr, client_socket, STATE_IDLE]
            try:
                gt = pool.spawn(serv.process_request, conn_state)
            except BaseException:
                client_socket.close()
                raise
            connections[id(conn_state)] = (conn_state, gt)
            gt.link(_clean_connection, conn_state)
    finally:
        for conn_state, _gt in list(connections.values()):
            previous = conn_state[2]
            conn_state[2] = STATE_CLOSE
            if previous == STATE_IDLE:
                try:
                    shutdown_safe(conn_state[1])
                except OSError:
                    pass
        if stop_timeout is None:
            pool.waitall()
        else:
            with Timeout(stop_timeout, False):
                pool.waitall()
            for _conn_state, gt in list(connections.values()):
                gt.kill()
        serv.deadlines.stop()
        serv.log.info(f"({serv.pid}) wsgi exited, is_accepting={is_accepting}")
        try:
            sock.close()
        except OSError as exc:
            if exc.errno not in BROKEN_SOCK:
                raise
