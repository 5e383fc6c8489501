"""``wsgi.input``: the request body, read on demand from the connection.

The body is never read ahead of the application: ``Input`` takes the bytes
the parser already delivered for its request and, when it needs more, asks
the connection for one more ``recv`` (``_Source.receive``). So an upload
the application never reads costs nothing until the server discards it
after the response (to keep the connection usable), and a slow client
blocks only its own green thread.

``Expect: 100-continue`` is honoured lazily, as in eventlet: the interim
``100 Continue`` goes out on the first read, unless the response has begun.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any, Protocol, cast

from ._headers import head_lines
from ._parser import BadRequest, Message

__all__ = ["ChunkReadError", "ChunkedBodyCut", "Input"]


class ChunkReadError(ValueError):
    """A chunked request body was malformed (eventlet's name; a ``ValueError``)."""


class ChunkedBodyCut(ChunkReadError, OSError):
    """The client closed before its chunked body ended.

    Both a ``ChunkReadError`` and an ``OSError``: eventlet raises one or the
    other depending on where the stream stopped (``IOError`` inside a chunk's
    data, ``ChunkReadError`` where a chunk-size line was due, which includes
    right after a chunk's last data byte), and applications catch either.
    """


class _Source(Protocol):
    @property
    def in_chunk(self) -> bool: ...  # inside a chunk's data, not at a chunk-size line

    def take_upgrade_tail(self) -> bytes: ...

    def receive(self) -> bool: ...  # one more read fed to the parser; False at end of stream

    def send_interim(self, data: bytes) -> None: ...


class _Response(Protocol):
    @property
    def sent(self) -> bool: ...  # the response's head has gone out


class Input:
    """The request body as a file: ``read``, ``readline``, ``readlines``, iteration."""

    # One Input per request: the attributes every request sets are slots, the others
    # start as these class defaults (the fewer stores in __init__, the better).
    __slots__ = (
        "__dict__",
        "_message",
        "_sock",
        "_source",
        "chunked_input",
        "content_length",
        "response",
        "wfile_line",
    )
    position = 0  # body bytes handed to the application so far
    chunk_length = -1  # eventlet's attribute; chunk framing is the parser's business here
    hundred_continue_headers: list[tuple[str, str]] | None = None
    is_hundred_continue_response_sent = False

    def __init__(
        self,
        source: _Source,
        message: Message,
        sock: Any,
        wfile_line: bytes | None = None,
    ) -> None:
        self._source = source
        self._message = message
        self._sock = sock
        self.content_length = message.content_length
        self.chunked_input = message.chunked
        self.wfile_line = wfile_line  # b"HTTP/1.1 100 Continue\r\n" while one is owed
        self.response: _Response | None = None  # the response, once the server has started it

    @property
    def headers_sent(self) -> bool:
        """True once the response's head has gone out (eventlet's attribute)."""
        response = self.response
        return response is not None and response.sent

    def __repr__(self) -> str:
        return (
            f"<Input position={self.position} length={self.content_length} "
            f"chunked={self.chunked_input} complete={self._message.complete}>"
        )

    # -- 100-continue ---------------------------------------------------------

    @property
    def should_send_hundred_continue(self) -> bool:
        """True while a ``100 Continue`` is owed and has not been sent."""
        return self.wfile_line is not None and not self.is_hundred_continue_response_sent

    def set_hundred_continue_response_headers(
        self, headers: list[tuple[str, str]], capitalize_response_headers: bool = True
    ) -> None:
        """Headers to send with the ``100 Continue`` (eventlet's call)."""
        if capitalize_response_headers:
            headers = [("-".join(x.capitalize() for x in key.split("-")), value) for key, value in headers]
        self.hundred_continue_headers = headers

    def send_hundred_continue_response(self) -> None:
        """Send the interim ``100 Continue`` now, unless the final response has begun."""
        if self.headers_sent or self.wfile_line is None:
            return
        # Checked as the final response's headers are: nothing with CR, LF or NUL goes out.
        checked, *_ = head_lines(self.hundred_continue_headers or (), capitalize=False)
        lines = [self.wfile_line, *(line.encode("latin-1") for line in checked)]
        lines.append(b"\r\n")
        self._source.send_interim(b"".join(lines))

    def _continue(self) -> None:
        if self.should_send_hundred_continue:
            self.send_hundred_continue_response()
            self.is_hundred_continue_response_sent = True

    # -- reading --------------------------------------------------------------

    def _fill(self) -> bool:
        """Wait until the body has bytes queued; False when it has ended (or the client left)."""
        message = self._message
        while not message.body:
            if message.complete:
                return False
            try:
                if not self._source.receive():
                    if self.chunked_input:
                        if self._source.in_chunk:
                            raise ChunkedBodyCut("unexpected end of file while parsing chunked data")
                        raise ChunkedBodyCut("unexpected end of file where a chunk-size line was due")
                    return False  # a Content-Length body cut short: a short read, as a file's
            except BadRequest as exc:
                if message.body or message.complete:
                    break  # the error is in a later pipelined request: the server answers it
                raise ChunkReadError(exc.reason) from None
        return True

    def _take(self, size: int) -> bytes:
        """Up to ``size`` queued body bytes (at least one queued)."""
        body = cast("deque[bytes]", self._message.body)  # non-empty (see _fill): a deque
        piece = body[0]
        if len(piece) <= size:
            body.popleft()
        else:
            body[0] = piece[size:]
            piece = piece[:size]
        self.position += len(piece)
        return piece

    def read(self, length: int | None = None) -> bytes:
        """Up to ``length`` body bytes (all the rest when ``None`` or negative); ``b""`` at the end."""
        self._continue()
        if length is not None and length >= 0:
            if length == 0 or not self._fill():
                return b""
            # A file's read(n) returns n bytes unless the body ends first.
            parts = [self._take(length)]
            got = len(parts[0])
            while got < length and self._fill():
                parts.append(self._take(length - got))
                got += len(parts[-1])
            return parts[0] if len(parts) == 1 else b"".join(parts)
        parts = []
        while self._fill():
            parts.append(self._take(1 << 62))
        return b"".join(parts)

    def readline(self, size: int | None = None) -> bytes:
        """One line (ending in ``\\n``, or shorter at the end or at ``size`` bytes)."""
        self._continue()
        if size is not None and size < 0:
            size = None
        parts: list[bytes] = []
        got = 0
        while (size is None or got < size) and self._fill():
            piece = cast("deque[bytes]", self._message.body)[0]
            end = piece.find(b"\n") + 1 or len(piece)
            if size is not None:
                end = min(end, size - got)
            parts.append(self._take(end))
            got += end
            if parts[-1].endswith(b"\n"):
                break
        return b"".join(parts)

    def readlines(self, hint: int | None = None) -> list[bytes]:
        """All remaining lines (stopping once ``hint`` bytes have been read, if given)."""
        lines = []
        total = 0
        for line in iter(self.readline, b""):
            lines.append(line)
            total += len(line)
            if hint is not None and 0 < hint <= total:
                break
        return lines

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.readline, b"")

    def discard(self, buffer_size: int = 16 << 10) -> None:
        """Read and drop the rest of the body."""
        while self.read(buffer_size):
            pass

    def get_socket(self) -> Any:
        """The connection's socket (eventlet's call; WebSocket handlers take it over)."""
        return self._sock

    @property
    def complete(self) -> bool:
        """True once the whole body has arrived from the client."""
        return self._message.complete

    def take_buffered(self) -> bytes:
        """Bytes the server read past this request's head on an upgraded connection (hand-off)."""
        return self._source.take_upgrade_tail()
