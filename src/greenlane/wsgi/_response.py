"""``Response``: what the WSGI application gets to answer one request with.

``start_response`` checks the head (``_headers.response_head``: refused with a
``ValueError`` if it could split the response, cached per distinct head) and
keeps it; nothing is sent until the first body bytes, so the head and the
first piece of the body go out in one ``sendall``. That is also when the
connection's fate is decided: it stays open only if the request allows it,
the server keeps connections alive, the application did not say ``Connection:
close``, and the body has a framing the client can follow (a length, chunked
on HTTP/1.1, or none at all); ``Connection: close`` is sent otherwise, and a
client that asked for keep-alive hears it echoed.

One small object per request, cheaper than two closures over a dozen cells;
it only reads the protocol and writes back its ``close_connection``.
"""

from __future__ import annotations

import time
from typing import Any

from ._common import DATE_CACHE, STATE_CLOSE, date_line
from ._headers import Head, response_head
from ._parser import Message

__all__ = ["Response", "length_line"]

# Content-Length lines by length: a site sends the same few lengths again and again.
_LENGTH_LINES: dict[int, bytes] = {}
_LENGTH_LINES_MAX = 1024


def length_line(length: int) -> bytes:
    """``b"Content-Length: <length>\\r\\n"``, remembered for the next response of that length."""
    line = _LENGTH_LINES.get(length)
    if line is None:
        line = b"Content-Length: %d\r\n" % length
        if len(_LENGTH_LINES) >= _LENGTH_LINES_MAX:
            _LENGTH_LINES.clear()
        _LENGTH_LINES[length] = line
    return line


class Response:
    """One request's response: the ``start_response`` and ``write`` its application gets.

    ``sent`` turns True when the head goes out (``Input`` reads it: no ``100
    Continue`` after that); ``length`` counts the bytes sent, for the access log.
    """

    __slots__ = (
        "_message",
        "_protocol",
        "bodyless",
        "chunked",
        "code",
        "head",
        "length",
        "length_line",
        "sent",
    )

    def __init__(self, protocol: Any, message: Message) -> None:
        self._protocol = protocol
        self._message = message
        self.head: Head | None = None  # set by start_response
        self.length_line = b""  # the Content-Length line the server adds when it knows the length
        self.bodyless = False  # a response that has no body (HEAD, 1xx, 204, 304)
        self.chunked = False
        self.sent = False
        self.code = 200
        self.length = 0  # bytes sent

    def __repr__(self) -> str:
        return f"<Response {self.code} sent={self.sent} length={self.length}>"

    def start_response(self, status: str, response_headers: Any, exc_info: Any = None) -> Any:
        """WSGI's ``start_response``: check and keep the head; returns ``write``."""
        if exc_info:
            try:
                if self.sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        protocol = self._protocol
        head = self.head = response_head(
            protocol.protocol_version, status, response_headers, protocol.capitalize_response_headers
        )
        code = self.code = head.code
        self.length_line = b""
        method = self._message.method
        self.bodyless = head.bodyless or method == "HEAD" or (method == "CONNECT" and 200 <= code < 300)
        return self.write

    def write(self, data: bytes) -> None:
        """WSGI's ``write``: send ``data`` (with the head first, chunked if no length is known)."""
        if not self.sent:
            out = self._head_and(data)
        elif self.chunked:
            if not data:
                return
            out = b"%x\r\n%s\r\n" % (len(data), data)
        else:
            out = data
        self._protocol.connection.sendall(out)
        self.length += len(out)

    def end(self) -> None:
        """Send the last chunk of a chunked body."""
        self._protocol.connection.sendall(b"0\r\n\r\n")
        self.length += 5

    def _head_and(self, data: bytes) -> bytes:
        """The head's bytes, framing and keep-alive lines added, then ``data``; marks the head sent."""
        head = self.head
        if head is None:
            raise AssertionError("write() before start_response()")
        protocol = self._protocol
        server = protocol.server
        message = self._message
        keep = (
            not protocol.close_connection
            and protocol.conn_state[2] != STATE_CLOSE  # stopping: this is the last
            and not head.closes  # the application said so, in its own Connection header
            and bool(server.keepalive)
        )
        length_line = self.length_line
        if not length_line and not head.has_length and not self.bodyless:
            if message.version == "HTTP/1.1" and protocol.protocol_version == "HTTP/1.1":
                self.chunked = True
                length_line = b"Transfer-Encoding: chunked\r\n"
                if data:
                    data = b"%x\r\n%s\r\n" % (len(data), data)
            else:
                keep = False  # an HTTP/1.0 client reads the body to the end of the stream
        protocol.close_connection = not keep
        if not keep:
            connection = b"" if head.closes else b"Connection: close\r\n"
        else:
            connection = b""
            asked = protocol.environ.get("HTTP_CONNECTION")
            if message.version == "HTTP/1.0" or (asked is not None and "keep-alive" in asked.lower()):
                connection = b"Connection: keep-alive\r\n"  # echoed to a client that asked
                if server.keepalive is not True and int(server.keepalive):
                    connection += b"Keep-Alive: timeout=%d\r\n" % int(server.keepalive)
        self.sent = True
        if head.has_date:
            date = b""
        elif DATE_CACHE[0] == int(time.time()):
            date = DATE_CACHE[2]  # this second's, already formatted
        else:
            date = date_line()
        return b"".join((head.block, length_line, date, connection, b"\r\n", data))
