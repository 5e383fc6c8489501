"""Constants, loggers and small helpers shared by the server and its protocol (eventlet's names)."""

from __future__ import annotations

import errno
import sys
import time
from typing import Any, Final

from ..corolocal import local

DEFAULT_MAX_SIMULTANEOUS_REQUESTS: Final = 1024
DEFAULT_MAX_HTTP_VERSION: Final = "HTTP/1.1"
MAX_REQUEST_LINE: Final = 8192
MAX_HEADER_LINE: Final = 8192
MAX_TOTAL_HEADER_SIZE: Final = 65536
# gunicorn's limit_request_fields default; eventlet has no count limit.
MAX_HEADER_COUNT: Final = 100
MINIMUM_CHUNK_SIZE: Final = 4096
# eventlet's access-log line (``%(client_port)s`` is also available).
DEFAULT_LOG_FORMAT: Final = (
    '%(client_ip)s - - [%(date_time)s] "%(request_line)s" %(status_code)s %(body_length)s %(wall_seconds).6f'
)
# Slowloris: a request head must arrive whole within this many seconds of its first byte.
HEADER_TIMEOUT: Final = 30.0
# A keep-alive connection may sit idle between requests this long (nginx's default is 75 s);
# ``keepalive=<seconds>`` overrides it, as in eventlet.
KEEPALIVE_TIMEOUT: Final = 75.0

STATE_IDLE: Final = "idle"
STATE_REQUEST: Final = "request"
STATE_CLOSE: Final = "close"

BAD_SOCK: Final = frozenset({errno.EBADF, 10053})
BROKEN_SOCK: Final = frozenset({errno.EPIPE, errno.ECONNRESET, errno.ESHUTDOWN})

RESPONSE_414: Final = b"HTTP/1.0 414 Request URI Too Long\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"

# ``WSGI_LOCAL.already_handled = True`` (per green thread) tells the server the application
# wrote its own response on the raw socket (WebSocket); returning ``ALREADY_HANDLED`` says the same.
WSGI_LOCAL: Final = local()
ALREADY_HANDLED: Final = object()

_WEEKDAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS: Final = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_date_time(timestamp: float) -> str:
    """An HTTP date (RFC 9110 IMF-fixdate) for a Unix timestamp."""
    year, month, day, hh, mm, ss, wd, _, _ = time.gmtime(timestamp)
    return f"{_WEEKDAYS[wd]}, {day:02d} {_MONTHS[month]} {year:04d} {hh:02d}:{mm:02d}:{ss:02d} GMT"


# [second, "<HTTP date>", b"Date: <HTTP date>\r\n"] for the second last formatted (the
# response path reads it inline: one Date a response).
DATE_CACHE: Final[list[Any]] = [0, "", b""]


def date_header() -> str:
    """``Date`` for now, formatted once per second (every response carries one)."""
    now = int(time.time())
    if DATE_CACHE[0] != now:
        text = format_date_time(now)
        DATE_CACHE[:] = [now, text, f"Date: {text}\r\n".encode("latin-1")]
    return DATE_CACHE[1]  # type: ignore[no-any-return]


def date_line() -> bytes:
    """``b"Date: ...\r\n"`` for now (formatted once per second)."""
    now = int(time.time())
    if DATE_CACHE[0] != now:
        date_header()
    return DATE_CACHE[2]  # type: ignore[no-any-return]


def log_date_time_string() -> str:
    """The access log's local time, as ``BaseHTTPRequestHandler.log_date_time_string``."""
    year, month, day, hh, mm, ss, _, _, _ = time.localtime()
    return f"{day:02d}/{_MONTHS[month]:3s}/{year:04d} {hh:02d}:{mm:02d}:{ss:02d}"


def addr_to_host_port(addr: Any) -> tuple[Any, Any]:
    """``(host, port)`` of a socket address; ``("unix", "")`` for a Unix socket."""
    if isinstance(addr, tuple):
        return addr[0], addr[1]
    return "unix", ""


class LoggerNull:
    """A logger that drops everything (``log_output=False``)."""

    def error(self, msg: str, *args: Any, **kwargs: Any) -> None:
        """Drop."""

    def info(self, msg: str, *args: Any, **kwargs: Any) -> None:
        """Drop."""

    def debug(self, msg: str, *args: Any, **kwargs: Any) -> None:
        """Drop."""

    def write(self, msg: str, *args: Any) -> None:
        """Drop."""


class LoggerFileWrapper(LoggerNull):
    """A logger writing lines to a file-like object (eventlet's default: ``sys.stderr``)."""

    def __init__(self, log: Any, debug: bool) -> None:
        self.log = log
        self._debug = debug

    def error(self, msg: str, *args: Any, **kwargs: Any) -> None:
        """Write the line."""
        self.write(msg, *args)

    def info(self, msg: str, *args: Any, **kwargs: Any) -> None:
        """Write the line."""
        self.write(msg, *args)

    def debug(self, msg: str, *args: Any, **kwargs: Any) -> None:
        """Write the line if the server runs with ``debug=True``."""
        if self._debug:
            self.write(msg, *args)

    def write(self, msg: str, *args: Any) -> None:
        """Write ``msg % args`` and a newline."""
        if args:
            msg = msg % args
        self.log.write(msg + "\n")


def get_logger(log: Any, debug: bool) -> Any:
    """``log`` itself if it is a logger (has ``info`` and ``debug``), else a wrapper writing to it."""
    if callable(getattr(log, "info", None)) and callable(getattr(log, "debug", None)):
        return log
    return LoggerFileWrapper(log or sys.stderr, debug)
