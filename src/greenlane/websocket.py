"""``greenlane.websocket``: eventlet's ``WebSocketWSGI`` and ``WebSocket``, RFC 6455 only.

A WSGI application made with ``WebSocketWSGI(handler)`` answers the opening
handshake itself (101 on the raw connection), tells the server the request
is handled (``WSGI_LOCAL.already_handled``), and runs ``handler(ws)`` in the
connection's green thread; the connection closes when the handler returns.

Framing is wsproto's (``wsproto.connection.Connection``): masking of client
frames enforced, fragmented messages reassembled, control frames between
fragments, UTF-8 checked in text messages, close codes validated. This module
adds what wsproto leaves to its embedder: answering pings, the close
handshake on both sides, a size limit per message (``max_frame_length``,
eventlet's name; a bigger message closes the connection with 1009), one
sender at a time (a green thread in ``wait()`` answers a ping while another
sends), and origin/subprotocol checks at the handshake.

Compression: ``permessage-deflate`` (RFC 7692, wsproto's implementation) is
accepted when a client offers it, as browsers do. ``WebSocket(...,
client=True, extensions={"permessage-deflate": {...}})`` (eventlet's
``RFC6455WebSocket`` signature) speaks the client side over a socket whose
handshake is done. Not supported, on purpose: the pre-RFC hixie-75/76 drafts
(no browser has spoken them since 2012).
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct
import zlib
from collections.abc import Callable, Iterable
from typing import Any, Final

try:
    from wsproto.connection import Connection, ConnectionState, ConnectionType
    from wsproto.events import BytesMessage, CloseConnection, Message, Ping, TextMessage
    from wsproto.extensions import Extension, PerMessageDeflate
    from wsproto.frame_protocol import CloseReason, FrameDecoder, FrameProtocol, Opcode, RsvBits
    from wsproto.utilities import LocalProtocolError
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "greenlane.websocket needs the optional 'wsproto' package (WebSocket framing): "
        "install it with: pip install 'greenlane[wsgi]'"
    ) from exc

from .semaphore import Semaphore
from .wsgi import WSGI_LOCAL

__all__ = [
    "DEFAULT_MAX_FRAME_LENGTH",
    "BadRequest",
    "ConnectionClosedError",
    "RFC6455WebSocket",
    "WebSocket",
    "WebSocketWSGI",
]

# eventlet's default message-size limit (8 MiB).
DEFAULT_MAX_FRAME_LENGTH: Final = 8 << 20
_GUID: Final = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3
_RECV_SIZE: Final = 65536
_MESSAGE_TOO_BIG: Final = 1009
_NORMAL: Final = 1000


class BadRequest(Exception):
    """A handshake the server refuses (eventlet's name): ``status``, ``body``, ``headers``."""

    def __init__(
        self, status: str = "400 Bad Request", body: bytes | None = None, headers: list[Any] | None = None
    ) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers


class ConnectionClosedError(Exception):
    """Sending on a WebSocket that is closed."""


def accept_key(key: str) -> str:
    """``Sec-WebSocket-Accept`` for a client's ``Sec-WebSocket-Key``."""
    return base64.b64encode(hashlib.sha1(key.encode("ascii") + _GUID).digest()).decode("ascii")


class WebSocketWSGI:
    """Wrap ``handler(ws)`` as a WSGI application that speaks WebSocket (RFC 6455)."""

    def __init__(
        self,
        handler: Callable[[WebSocket], Any],
        max_frame_length: int = DEFAULT_MAX_FRAME_LENGTH,
    ) -> None:
        self.handler = handler
        self.max_frame_length = max_frame_length
        self.protocols: list[str] = []
        self.origin_checker: Callable[[str | None, str | None], bool] | None = None
        self.support_legacy_versions = False

    def __repr__(self) -> str:
        return f"<WebSocketWSGI handler={self.handler!r} max_frame_length={self.max_frame_length}>"

    @classmethod
    def configured(
        cls,
        handler: Callable[[WebSocket], Any] | None = None,
        supported_protocols: Iterable[str] | None = None,
        origin_checker: Callable[[str | None, str | None], bool] | None = None,
        support_legacy_versions: bool = False,
    ) -> Any:
        """eventlet's decorator factory: subprotocols to offer and ``origin_checker(host, origin)``."""
        if support_legacy_versions:
            raise ValueError("support_legacy_versions=True: the hixie-75/76 drafts are not supported")

        def decorator(fn: Callable[[WebSocket], Any]) -> WebSocketWSGI:
            inst = cls(fn)
            inst.protocols = list(supported_protocols or [])
            inst.origin_checker = origin_checker
            return inst

        return decorator(handler) if handler is not None else decorator

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        try:
            response, protocol, extensions = self._handshake(environ)
        except BadRequest as exc:
            # eventlet's answer: the status, Connection: close, and an empty body unless given.
            body = exc.body or b""
            headers = [*(exc.headers or []), ("Connection", "close")]
            if body:
                headers.append(("Content-Type", "text/plain"))
            start_response(exc.status, headers)
            return [body]
        sock = environ["eventlet.input"].get_socket()
        take = getattr(environ["eventlet.input"], "take_buffered", None)
        pending = take() if take is not None else b""
        sock.sendall(response)
        if "eventlet.set_idle" in environ:
            environ["eventlet.set_idle"]()  # a long-lived connection: a graceful stop may close it
        ws = WebSocket(
            sock,
            environ,
            protocol=protocol,
            extensions=extensions,
            max_frame_length=self.max_frame_length,
            pending=pending,
        )
        try:
            self.handler(ws)
        finally:
            ws._close_quietly()
        WSGI_LOCAL.already_handled = True
        return []

    def _handshake(self, environ: dict[str, Any]) -> tuple[bytes, str | None, list[Extension]]:
        if environ.get("REQUEST_METHOD") != "GET":
            raise BadRequest("405 Method Not Allowed", headers=[("Allow", "GET")])
        tokens = {t.strip().lower() for t in environ.get("HTTP_CONNECTION", "").split(",")}
        if environ.get("HTTP_UPGRADE", "").lower() != "websocket" or "upgrade" not in tokens:
            raise BadRequest()
        if environ.get("HTTP_SEC_WEBSOCKET_VERSION") != "13":
            raise BadRequest("426 Upgrade Required", headers=[("Sec-WebSocket-Version", "13")])
        key = environ.get("HTTP_SEC_WEBSOCKET_KEY", "")
        try:
            valid_key = len(base64.b64decode(key, validate=True)) == 16
        except ValueError:
            valid_key = False
        if not valid_key:
            raise BadRequest()
        origin = environ.get("HTTP_ORIGIN")
        if self.origin_checker is not None and not self.origin_checker(environ.get("HTTP_HOST"), origin):
            raise BadRequest("403 Forbidden", body=b"Origin not allowed")
        protocol = None
        offered = [p.strip() for p in environ.get("HTTP_SEC_WEBSOCKET_PROTOCOL", "").split(",") if p.strip()]
        for candidate in offered:
            if candidate in self.protocols:
                protocol = candidate
                break
        else:
            if offered and self.protocols:
                raise BadRequest(body=b"No supported subprotocol")
        lines = [
            "HTTP/1.1 101 Switching Protocols",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Accept: {accept_key(key)}",
        ]
        if protocol is not None:
            lines.append(f"Sec-WebSocket-Protocol: {protocol}")
        extensions: list[Extension] = []
        for raw_offer in environ.get("HTTP_SEC_WEBSOCKET_EXTENSIONS", "").split(","):
            offer = raw_offer.strip().lower()  # parameter names are case-insensitive
            if offer.split(";", 1)[0].strip() != "permessage-deflate":
                continue
            deflate = PerMessageDeflate()
            try:
                accepted = deflate.accept(offer)
            except ValueError:  # out-of-range window bits: decline this offer
                continue
            if isinstance(accepted, str):
                value = "; ".join(["permessage-deflate", accepted] if accepted else ["permessage-deflate"])
                lines.append(f"Sec-WebSocket-Extensions: {value}")
                extensions.append(deflate)
                break
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"), protocol, extensions


def _extensions(given: dict[str, dict[str, Any]] | list[Extension] | None, client: bool) -> list[Extension]:
    """wsproto extensions from eventlet's ``{"permessage-deflate": {param: value}}`` (agreed)."""
    if not given:
        return []
    if isinstance(given, list):
        return given
    extensions: list[Extension] = []
    params = given.get("permessage-deflate")
    if params is not None:
        deflate = PerMessageDeflate()
        agreed = ["permessage-deflate"]
        for name, value in params.items():
            if value is True:
                agreed.append(name)
            elif value not in (False, None):
                agreed.append(f"{name}={value}")
        # The server's response (client side) or the accepted offer (server side).
        if client:
            deflate.finalize("; ".join(agreed))
        else:
            deflate.accept("; ".join(agreed))
        extensions.append(deflate)
    return extensions


class _FrameLimit(Extension):
    """Not negotiated: refuses a frame whose header announces more than ``limit`` bytes.

    wsproto asks every enabled extension about each frame header, so a frame
    too big is refused before any of its payload is taken in (1009, with
    eventlet's reason text); whole messages are bounded again in ``_collect``.
    """

    name = "greenlane-frame-limit"

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.refused: int | None = None  # the announced length of the frame refused

    def enabled(self) -> bool:
        return True

    def offer(self) -> bool:  # never offered or accepted: it is local
        return False

    def frame_inbound_header(
        self, proto: FrameDecoder | FrameProtocol, opcode: Opcode, rsv: RsvBits, payload_length: int
    ) -> CloseReason | RsvBits:
        if payload_length > self.limit:
            self.refused = payload_length
            return CloseReason.MESSAGE_TOO_BIG
        return RsvBits(False, False, False)


class _RawFrame:
    """One frame as ``WebSocket._recv_frame`` reads it (eventlet's private message object)."""

    def __init__(self, opcode: int, payload: bytes, decompressor: Any) -> None:
        self.opcode = opcode
        self.payload = payload
        self.decompressor = decompressor  # set it None to read the payload as sent

    def getvalue(self) -> bytes:
        if self.decompressor is None:
            return self.payload
        return bytes(self.decompressor.decompress(self.payload + b"\x00\x00\xff\xff"))


def _with_mask(frame: bytes, masked: bool) -> bytes:
    """``frame`` (one serialized frame) with its payload masked (fresh key) or unmasked."""
    length = frame[1] & 0x7F
    start = 2 + (2 if length == 126 else 8 if length == 127 else 0)
    has_mask = bool(frame[1] & 0x80)
    if has_mask == masked:
        return frame
    if has_mask:
        key, payload = frame[start : start + 4], frame[start + 4 :]
        return bytes([frame[0], frame[1] & 0x7F]) + frame[2:start] + _xor(payload, key)
    key = os.urandom(4)
    return bytes([frame[0], frame[1] | 0x80]) + frame[2:start] + key + _xor(frame[start:], key)


def _xor(data: bytes, key: bytes) -> bytes:
    repeated = (key * (len(data) // 4 + 1))[: len(data)]
    return (int.from_bytes(data, "big") ^ int.from_bytes(repeated, "big")).to_bytes(len(data), "big")


class WebSocket:
    """One WebSocket connection: ``send``, ``wait``, ``close``; ``environ``, ``origin``, ``path``..."""

    version = 13

    def __init__(  # noqa: PLR0917 - eventlet's RFC6455WebSocket signature
        self,
        sock: Any,
        environ: dict[str, Any],
        version: int = 13,
        protocol: str | None = None,
        client: bool = False,
        extensions: dict[str, dict[str, Any]] | list[Extension] | None = None,
        *,
        max_frame_length: int = DEFAULT_MAX_FRAME_LENGTH,
        pending: bytes = b"",
    ) -> None:
        self.socket = sock
        self.environ = environ
        self.origin: str | None = environ.get("HTTP_ORIGIN")
        self.protocol = protocol
        self.path: str | None = environ.get("PATH_INFO")
        self.max_frame_length = max_frame_length
        self.client = client
        self._limit = _FrameLimit(max_frame_length)
        self._conn = Connection(
            ConnectionType.CLIENT if client else ConnectionType.SERVER,
            [*_extensions(extensions, client), self._limit],
        )
        self._send_lock = Semaphore(1)
        self._fragments: list[Any] = []
        self._size = 0
        self._closed = False  # nothing more will be read
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self._remote_close_data: bytes | None = None  # eventlet's name: the peer's close payload
        self._raw = b""  # bytes _recv_frame read past its frame
        if pending:
            self._conn.receive_data(pending)

    def __repr__(self) -> str:
        return f"<WebSocket path={self.path!r} state={self._conn.state.name} closed={self._closed}>"

    @property
    def extensions(self) -> list[Extension]:
        """The agreed extensions (wsproto objects, the frame-size guard left out)."""
        return [ext for ext in self._conn._proto.extensions if ext is not self._limit]

    @extensions.setter
    def extensions(self, value: dict[str, dict[str, Any]] | list[Extension] | None) -> None:
        # eventlet lets a client set them after construction (before the frames they apply to).
        proto = self._conn._proto
        proto.extensions = [*_extensions(value, self.client), self._limit]
        proto._frame_decoder.extensions = proto.extensions

    # -- eventlet's private frame helpers (its own tests use them) -------------

    def _pack_message(self, message: str | bytes, masked: bool = False) -> bytes:
        """One whole-message frame for ``message``, compressed as agreed, ``masked`` or not."""
        return _with_mask(bytes(self._conn._proto.send_data(message, True)), masked)

    def _send(self, frame: bytes) -> None:
        """Send ``frame`` (bytes already framed) as is."""
        self._send_bytes(frame)

    def _recv_exact(self, size: int) -> bytes:
        while len(self._raw) < size:
            data = self.socket.recv(_RECV_SIZE)
            if not data:
                raise ConnectionClosedError("the WebSocket closed inside a frame")
            self._raw += data
        data, self._raw = self._raw[:size], self._raw[size:]
        return data

    def _recv_frame(self, message: Any = None) -> _RawFrame:
        """Read one frame off the socket, bypassing the connection's state (eventlet's test helper).

        ``getvalue()`` of the result decompresses it with a fresh decompressor
        unless its ``decompressor`` is set None first.
        """
        head = self._recv_exact(2)
        length = head[1] & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self._recv_exact(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._recv_exact(8))
        key = self._recv_exact(4) if head[1] & 0x80 else b""
        payload = self._recv_exact(length)
        if key:
            payload = _xor(payload, key)
        decompressor = zlib.decompressobj(-15) if head[0] & 0x40 else None
        return _RawFrame(head[0] & 0x0F, payload, decompressor)

    def _send_bytes(self, data: bytes) -> None:
        with self._send_lock:
            self.socket.sendall(data)

    def _send_event(self, event: Any) -> None:
        try:
            data = self._conn.send(event)
        except LocalProtocolError:
            raise ConnectionClosedError("the WebSocket is closed") from None
        self._send_bytes(data)

    def send(self, message: str | bytes) -> None:
        """Send one message: ``str`` as text, ``bytes`` as binary."""
        if self._conn.state is not ConnectionState.OPEN:
            raise ConnectionClosedError("the WebSocket is closed")
        if isinstance(message, str):
            self._send_event(TextMessage(data=message))
        else:
            self._send_event(BytesMessage(data=bytes(message)))

    def ping(self, payload: bytes = b"") -> None:
        """Send a ping (the client answers with a pong, which ``wait`` consumes)."""
        self._send_event(Ping(payload=payload))

    def wait(self) -> str | bytes | None:
        """The next message (``str`` or ``bytes``); None once the connection is closed."""
        while not self._closed:
            for event in self._conn.events():
                if isinstance(event, Message):
                    message = self._collect(event)
                    if message is not None:
                        return message
                elif isinstance(event, Ping):
                    self._send_event(event.response())
                elif isinstance(event, CloseConnection):
                    self._on_close(event)
                    return None
            if self._closed:
                break
            try:
                data = self.socket.recv(_RECV_SIZE)
            except OSError:
                data = b""
            if not data:
                self._closed = True
                self.close_code = self.close_code or 1006
                break
            self._conn.receive_data(data)
        return None

    def _collect(self, event: Message[Any]) -> str | bytes | None:
        self._fragments.append(event.data)
        self._size += len(event.data)
        if self._size > self.max_frame_length:
            self._fragments = []
            self.close(close_data=(_MESSAGE_TOO_BIG, "message too big"))
            return None
        if not event.message_finished:
            return None
        parts, self._fragments, self._size = self._fragments, [], 0
        if isinstance(event, TextMessage):
            return "".join(parts)
        return b"".join(parts)

    def _on_close(self, event: CloseConnection) -> None:
        self.close_code, self.close_reason = event.code, event.reason
        self._remote_close_data = struct.pack("!H", event.code) + (event.reason or "").encode("utf-8")
        response = event.response()
        if self._limit.refused is not None:
            response = CloseConnection(
                code=_MESSAGE_TOO_BIG,
                reason=f"Incoming frame of {self._limit.refused} bytes is above length limit of "
                f"{self.max_frame_length} bytes.",
            )
            self._remote_close_data = None  # wsproto's refusal, not the peer's close
            self.close_code, self.close_reason = response.code, response.reason
        if self._conn.state in (ConnectionState.OPEN, ConnectionState.REMOTE_CLOSING):
            try:
                self._send_bytes(self._conn.send(response))  # echo the close (or refuse a bad frame)
            except (OSError, LocalProtocolError):
                pass
        self._closed = True

    def close(self, close_data: tuple[int, str] | None = None) -> None:
        """Start the close handshake (code 1000 unless ``close_data=(code, reason)``) and close."""
        code, reason = close_data or (_NORMAL, "")
        if self._conn.state in (ConnectionState.OPEN, ConnectionState.REMOTE_CLOSING):
            try:
                self._send_bytes(self._conn.send(CloseConnection(code=code, reason=reason)))
            except OSError:
                pass
        self._closed = True
        try:
            self.socket.shutdown(1)  # SHUT_WR: the client sees the end after our close frame
        except OSError:
            pass

    def _close_quietly(self) -> None:
        if self._conn.state is ConnectionState.OPEN or not self._closed:
            self.close()


# eventlet's name for the RFC 6455 class (its other class spoke the hixie drafts).
RFC6455WebSocket = WebSocket
