"""The HTTP/1.1 request parser: httptools (llhttp) behind a narrow adapter.

Why a library and why this one. Request smuggling lives in the corners of
HTTP/1.1 framing (Content-Length against Transfer-Encoding, chunk-size lines,
trailers, line endings), and every hand-written Python parser in the peers
has had a CVE there (eventlet CVE-2025-58068 and gevent CVE-2023-41419 both
let a crafted trailer start a second request). llhttp is Node's parser: strict
by default (no leniency flag is ever turned on here), fuzzed, and fast (a
hello-world request head parses in about 2 us through httptools' callbacks,
where h11 takes 20-30 us in pure Python, more than the whole request budget
of this server).

The adapter's contract is all the rest of ``greenlane.wsgi`` sees, so h11 or
another parser could replace httptools here without touching the protocol:

- ``feed(data)`` pushes bytes received from the client. Complete request
  heads appear on ``messages`` (FIFO) as ``Message`` records; body bytes
  are appended to the record of the request they belong to; ``complete`` is
  set when its body ended. Pipelined requests simply queue up.
- Anything malformed raises ``BadRequest`` with the status to answer (400,
  414, 431, 505); the parser is then dead and the connection must close.
- An ``Upgrade``/``CONNECT`` request stops the parser after its head: the
  bytes after it are in ``upgrade_tail`` and the connection belongs to the
  application (WebSocket) or must close after the response.

What llhttp checks itself (strict mode): Content-Length with Transfer-Encoding,
duplicate or non-numeric Content-Length, Transfer-Encoding other than a
final ``chunked``, obsolete line folding, bare CR or LF line endings, bad
header names or value bytes, bad chunk-size lines and chunk data not followed
by CRLF, malformed trailers. What this adapter adds, because llhttp leaves
them to its embedder: size limits (request line 414; header line, header
count and total head size 431), a budget for chunk extensions and other
framing bytes, codings other than exactly ``chunked`` (we would have to
decode them), versions other than 1.0/1.1, and closing after an HTTP/1.0
request with Transfer-Encoding (RFC 9112 6.1: faulty framing).

Memory bound. The caller feeds at most one ``recv`` at a time and only when
it needs more, so what the parser holds is bounded by the limits plus one
read, whatever the client sends.
"""

from __future__ import annotations

from collections import deque
from typing import Final

try:
    import httptools
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "greenlane.wsgi needs the optional 'httptools' package (the HTTP/1.1 parser): "
        "install it with: pip install 'greenlane[wsgi]'"
    ) from exc

__all__ = ["BadRequest", "Limits", "Message", "RequestParser"]

# Framing bytes (chunk-size lines, extensions, CRLFs) allowed per chunk; a chunk-size
# line and its CRLFs take under 24 bytes, so this leaves room for a short extension.
CHUNK_OVERHEAD_PER_CHUNK: Final = 64
# Framing bytes a chunked body may spend beyond that allowance (long extensions).
MAX_CHUNK_OVERHEAD: Final = 4096


class BadRequest(Exception):
    """The client sent something this server refuses; answer ``status`` and close."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason


class Limits:
    """The size limits a parser enforces (eventlet's names where it has them)."""

    __slots__ = ("max_head_size", "max_header_count", "max_header_line", "max_request_line")

    def __init__(
        self, max_request_line: int, max_header_line: int, max_head_size: int, max_header_count: int
    ) -> None:
        self.max_request_line = max_request_line
        self.max_header_line = max_header_line
        self.max_head_size = max_head_size
        self.max_header_count = max_header_count


class Message:
    """One request: its head, then its body as it arrives.

    ``body`` is an empty tuple until the first body bytes arrive (most requests
    have none, and a ``deque`` per request is measurable), then a ``deque``.
    """

    __slots__ = (
        "body",
        "body_size",
        "chunked",
        "complete",
        "content_length",
        "headers",
        "keep_alive",
        "method",
        "target",
        "upgrade",
        "version",
    )

    # Set when the head is complete (before that the record is the parser's alone).
    method: str
    target: bytes
    version: str
    keep_alive: bool
    upgrade: bool

    def __init__(self, headers: list[tuple[bytes, bytes]]) -> None:
        self.headers = headers
        self.chunked = False
        self.content_length: int | None = None
        self.body: deque[bytes] | tuple[()] = ()
        self.body_size = 0  # bytes received so far
        self.complete = False

    def __repr__(self) -> str:
        head = f"{self.method} {self.target!r} {self.version}" if hasattr(self, "version") else "(head)"
        return f"<Message {head} body={self.body_size}{' complete' if self.complete else ''}>"


# Version tokens read off a request line (see on_headers_complete).
_VERSIONS: Final = {b"HTTP/1.1": "1.1", b"HTTP/1.0": "1.0"}
# llhttp's method names (bytes) as the str the environ carries.
_METHODS: Final[dict[bytes, str]] = {}


class RequestParser:
    """Feed bytes in, take ``Message`` records out; ``BadRequest`` on anything malformed.

    Invariants: ``_headers`` is the list ``on_header`` appends to: the current
    message's while its head is read, then a throwaway list for its trailers
    (chunked bodies only); ``_head_size`` counts the head's bytes as llhttp
    hands them over (request target and header lines) and ``_head_fed`` the
    bytes fed since the head began, so both bounds hold whatever the reads.
    """

    __slots__ = (
        "_chunks",
        "_current",
        "_error",
        "_framing",
        "_fresh",
        "_head_fed",
        "_head_size",
        "_headers",
        "_in_head",
        "_max_count",
        "_max_head",
        "_max_line",
        "_max_request_line",
        "_parser",
        "_url",
        "in_chunk",
        "messages",
        "upgrade_tail",
    )

    def __init__(self, limits: Limits) -> None:
        self._max_request_line = limits.max_request_line
        self._max_line = limits.max_header_line
        self._max_head = limits.max_head_size
        self._max_count = limits.max_header_count
        self._parser = httptools.HttpRequestParser(self)
        self.messages: deque[Message] = deque()
        self.upgrade_tail: bytes | None = None
        self.in_chunk = False  # inside a chunk's data (not at a chunk-size line)
        self._current: Message | None = None
        self._error: BadRequest | None = None
        self._fresh: bytes | None = None  # the read being fed, when it began at a request's start
        self._in_head = False
        self._head_fed = 0
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._head_size = 0
        self._chunks = 0
        self._framing = 0

    def __repr__(self) -> str:
        return f"<RequestParser queued={len(self.messages)} in_head={self._in_head}>"

    @property
    def error(self) -> BadRequest | None:
        """What made the parser refuse, once it has."""
        return self._error

    @property
    def in_request(self) -> bool:
        """True while a request has begun and its body has not ended."""
        current = self._current
        return self._in_head or (current is not None and not current.complete)

    def feed(self, data: bytes) -> None:
        """Parse ``data``; raises ``BadRequest`` (and the parser is dead) on malformed input."""
        if self._error is not None:
            raise self._error
        current = self._current
        if current is None or current.complete:
            body_before = -1
            self._fresh = data  # at a request boundary: data starts with a request line
        else:
            body_before = current.body_size
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            self.upgrade_tail = data[exc.args[0] :]
            return
        except httptools.HttpParserCallbackError:
            self._error = self._error or BadRequest(400, "Bad Request")
            return self._refuse_later()
        except httptools.HttpParserInvalidMethodError:
            self._error = BadRequest(400, "Bad Request (invalid method)")
            return self._refuse_later()
        except httptools.HttpParserError as exc:
            self._error = BadRequest(400, f"Bad Request ({exc})")
            return self._refuse_later()
        finally:
            self._fresh = None
        if self._in_head:
            self._head_fed += len(data)
            if self._head_fed > self._max_head:
                self._fail(431, "Request Header Fields Too Large")
        elif body_before >= 0 and current is self._current and current is not None and not current.complete:
            # A read wholly inside one chunked body: every byte not body was framing
            # (chunk-size lines, extensions, CRLFs); keep that within budget. A read that
            # also holds a head or a body's end is not counted (positions inside a read
            # are llhttp's secret), so at most one read (64 KiB) escapes the count.
            self._framing += len(data) - (current.body_size - body_before)
            if self._framing > MAX_CHUNK_OVERHEAD + CHUNK_OVERHEAD_PER_CHUNK * self._chunks:
                self._fail(400, "Bad Request (chunk extensions too long)")

    def _refuse_later(self) -> None:
        """Raise the error now, unless whole requests before it are queued: those are
        answered first (llhttp refuses bytes after a ``Connection: close`` request, for
        one), and the error is raised by the next ``feed``; nothing after it is parsed."""
        assert self._error is not None
        if self.messages:
            return
        raise self._error

    def _fail(self, status: int, reason: str) -> None:
        self._error = BadRequest(status, reason)
        raise self._error

    # -- httptools callbacks: they run inside feed_data ----------------------

    def on_url(self, part: bytes) -> None:
        # The first callback of every request (llhttp's message-begin callback is not
        # taken: one call less per request), usually with the whole target.
        if self._in_head:
            self._url = url = self._url + part  # a target in pieces
            self._head_size += len(part)
        else:
            headers: list[tuple[bytes, bytes]] = []
            self._headers = headers
            self._current = Message(headers)
            self._in_head = True
            self._head_fed = 0
            self._url = url = part
            self._head_size = len(part)
        # The limit is on the request line: the method, its space and " HTTP/1.1" count too.
        # (llhttp's methods are at most 13 characters: look the method up only when near.)
        limit = self._max_request_line
        if len(url) + 24 >= limit and len(url) + len(self._parser.get_method()) + 10 >= limit:
            self._fail(414, "Request-URI Too Long")

    def on_header(self, name: bytes, value: bytes) -> None:
        size = len(name) + len(value) + 4
        # The exact head size so far; feed() bounds the part still inside httptools' buffer.
        self._head_size = head_size = self._head_size + size
        headers = self._headers
        headers.append((name, value))
        if size > self._max_line or head_size > self._max_head or len(headers) > self._max_count:
            self._fail(431, "Request Header Fields Too Large")
        if (len(name) == 17 or len(name) == 14) and self._in_head:  # the two framing headers, cheaply
            self._framing_header(name, value)
        # Trailers (after a chunked body) are counted against the limits, then dropped.

    def _framing_header(self, name: bytes, value: bytes) -> None:
        current = self._current
        assert current is not None
        lower = name.lower()
        if lower == b"transfer-encoding":
            # llhttp made sure "chunked" is last; we decode nothing else.
            if value.strip(b" \t").lower() != b"chunked":
                self._fail(400, "Bad Request (unsupported Transfer-Encoding)")
            current.chunked = True
        elif lower == b"content-length":
            current.content_length = int(value)  # llhttp checked: digits only, one header

    def on_headers_complete(self) -> None:
        current = self._current
        assert current is not None
        parser = self._parser
        self._in_head = False
        # httptools formats the version with str.format on every call, which costs more
        # than the rest of the head's callbacks together. When the read being fed began
        # at a request boundary, the head just completed is the first in it and llhttp
        # accepted its request line: the read up to its first CRLF is that line (it holds
        # no CR or LF), and its last 8 bytes are the version. Anything else (a head over
        # several reads, a pipelined one, a leading empty line) asks llhttp.
        fresh = self._fresh
        version = None
        if fresh is not None:
            self._fresh = None  # only the first head of the read starts at its beginning
            end = fresh.find(b"\r\n")
            if end > 8:
                version = _VERSIONS.get(fresh[end - 8 : end])
        if version is None:
            version = parser.get_http_version()
        if version == "1.1":
            current.version = "HTTP/1.1"
            current.keep_alive = parser.should_keep_alive()
        elif version == "1.0":
            current.version = "HTTP/1.0"
            # RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 is faulty framing: the message may
            # be processed, then the connection must close (what follows is never parsed).
            current.keep_alive = parser.should_keep_alive() and not current.chunked
        else:
            self._fail(505, "HTTP Version Not Supported")
        raw = parser.get_method()
        method = _METHODS.get(raw)
        if method is None:
            method = _METHODS[raw] = raw.decode("ascii")  # llhttp's fixed set: a bounded cache
        current.method = method
        current.target = self._url
        current.upgrade = parser.should_upgrade()
        if current.chunked:
            self._headers = []  # trailers: counted, then dropped
            self._chunks = self._framing = 0
        self.messages.append(current)

    def on_body(self, body: bytes) -> None:
        current = self._current
        assert current is not None
        queued = current.body
        if not queued:
            current.body = queued = deque()
        queued.append(body)
        current.body_size += len(body)

    def on_chunk_header(self) -> None:
        self._chunks += 1
        self.in_chunk = True

    def on_chunk_complete(self) -> None:
        self.in_chunk = False

    def on_message_complete(self) -> None:
        current = self._current
        assert current is not None
        current.complete = True
        self._current = None  # the parser is done with it (its readers hold it)
