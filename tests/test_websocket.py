"""greenlane.websocket under greenlane.wsgi: a maintained client (websockets) and raw frames (wsproto)."""

from __future__ import annotations

import os
import struct
from typing import Any

import pytest

pytest.importorskip("httptools", reason="greenlane.wsgi needs the optional httptools (greenlane[wsgi])")
pytest.importorskip("wsproto", reason="greenlane.websocket needs the optional wsproto (greenlane[wsgi])")

from greenlane import tpool
from greenlane.websocket import WebSocket, WebSocketWSGI
from wsgi_support import HANG_GUARD, read_to_close, serving, status_of

pytestmark = pytest.mark.usefixtures("no_fd_or_registration_left")

UPGRADE = (
    "GET {path} HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
)


@WebSocketWSGI
def echo(ws: WebSocket) -> None:
    while True:
        message = ws.wait()
        if message is None:
            break
        ws.send(message)


def client_frame(opcode: int, payload: bytes, fin: bool = True, masked: bool = True) -> bytes:
    """One client frame (RFC 6455 5.2), masked unless told otherwise."""
    first = (0x80 if fin else 0) | opcode
    mask_bit = 0x80 if masked else 0
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", first, mask_bit | n)
    elif n < 65536:
        head = struct.pack("!BBH", first, mask_bit | 126, n)
    else:
        head = struct.pack("!BBQ", first, mask_bit | 127, n)
    if not masked:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def server_frames(data: bytes) -> list[tuple[int, bytes]]:
    """Parse the (unmasked) frames the server sent."""
    frames = []
    while data:
        opcode, n = data[0] & 0x0F, data[1] & 0x7F
        at = 2
        if n == 126:
            n, at = struct.unpack("!H", data[2:4])[0], 4
        elif n == 127:
            n, at = struct.unpack("!Q", data[2:10])[0], 10
        frames.append((opcode, data[at : at + n]))
        data = data[at + n :]
    return frames


def open_raw(srv: Any, path: str = "/ws", extra: str = "") -> Any:
    sock = srv.connect()
    sock.sendall(UPGRADE.format(path=path, extra=extra).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head  # RFC 6455's own example
    return sock


def test_the_websockets_client_exchanges_text_and_binary() -> None:
    websockets_client = pytest.importorskip("websockets.sync.client")
    with serving(echo) as srv:

        def client() -> list[Any]:
            url = f"ws://127.0.0.1:{srv.port}/chat"
            with websockets_client.connect(url, open_timeout=HANG_GUARD, compression=None) as ws:
                ws.send("héllo")
                text = ws.recv(timeout=HANG_GUARD)
                ws.send(b"\x00\x01" * 40000)  # bigger than one read: fragments on the wire
                binary = ws.recv(timeout=HANG_GUARD)
                pong = ws.ping(b"p")
                assert pong.wait(HANG_GUARD)
                return [text, binary]

        text, binary = tpool.execute(client)
        assert text == "héllo"
        assert binary == b"\x00\x01" * 40000
        assert srv.seen == ["/chat"]


def test_subprotocol_and_origin_are_negotiated_and_exposed() -> None:
    seen: dict[str, Any] = {}

    @WebSocketWSGI.configured(
        supported_protocols=["v2", "v1"], origin_checker=lambda host, origin: origin == "http://ok"
    )
    def handler(ws: WebSocket) -> None:
        seen.update(protocol=ws.protocol, origin=ws.origin, path=ws.path, env=ws.environ["PATH_INFO"])
        ws.close()

    with serving(handler) as srv:
        sock = open_raw(srv, "/p", "Origin: http://ok\r\nSec-WebSocket-Protocol: v1, v2\r\n")
        assert server_frames(read_to_close(sock))[0][0] == 0x8  # the server's close frame
        sock.close()
        assert seen == {"protocol": "v1", "origin": "http://ok", "path": "/p", "env": "/p"}
        refused = srv.exchange(UPGRADE.format(path="/p", extra="Origin: http://evil\r\n").encode())
        assert status_of(refused) == 403


def test_a_non_websocket_request_or_wrong_version_is_refused() -> None:
    with serving(echo) as srv:
        assert status_of(srv.get("/ws")) == 400
        raw = UPGRADE.format(path="/", extra="").replace("Version: 13", "Version: 8")
        response = srv.exchange(raw.encode())
        assert status_of(response) == 426
        assert b"Sec-Websocket-Version: 13" in response


def test_fragments_with_a_ping_between_are_reassembled_and_the_ping_answered() -> None:
    with serving(echo) as srv:
        sock = open_raw(srv)
        sock.sendall(
            client_frame(0x1, b"hel", fin=False) + client_frame(0x9, b"pi") + client_frame(0x0, b"lo")
        )
        sock.sendall(client_frame(0x8, struct.pack("!H", 1000)))
        frames = server_frames(read_to_close(sock))
        sock.close()
        assert frames == [(0xA, b"pi"), (0x1, b"hello"), (0x8, struct.pack("!H", 1000))]


def test_an_unmasked_client_frame_closes_with_1002() -> None:
    with serving(echo) as srv:
        sock = open_raw(srv)
        sock.sendall(client_frame(0x1, b"naked", masked=False))
        frames = server_frames(read_to_close(sock))
        sock.close()
        assert frames[-1][0] == 0x8
        assert struct.unpack("!H", frames[-1][1][:2])[0] == 1002


def test_a_message_over_max_frame_length_closes_with_1009() -> None:
    handler = WebSocketWSGI(echo.handler, max_frame_length=1000)
    with serving(handler) as srv:
        sock = open_raw(srv)
        sock.sendall(client_frame(0x2, b"x" * 600, fin=False) + client_frame(0x0, b"y" * 600))
        frames = server_frames(read_to_close(sock))
        sock.close()
        assert frames[-1][0] == 0x8
        assert struct.unpack("!H", frames[-1][1][:2])[0] == 1009


def test_a_client_leaving_mid_frame_ends_wait_with_none() -> None:
    results: list[Any] = []

    @WebSocketWSGI
    def handler(ws: WebSocket) -> None:
        results.append(ws.wait())

    with serving(handler) as srv:
        sock = open_raw(srv)
        sock.sendall(client_frame(0x1, b"x" * 100)[:20])
        sock.close()
        for _ in range(100):
            if results:
                break
            import greenlane

            greenlane.sleep(0.01)
    assert results == [None]


def test_bytes_sent_with_the_upgrade_request_are_not_lost() -> None:
    with serving(echo) as srv, srv.connect() as sock:
        sock.sendall(UPGRADE.format(path="/", extra="").encode() + client_frame(0x1, b"early"))
        data = b""
        while b"early" not in data:
            data += sock.recv(1000)
        assert data.startswith(b"HTTP/1.1 101")


def test_permessage_deflate_is_negotiated_with_the_websockets_client() -> None:
    websockets_client = pytest.importorskip("websockets.sync.client")
    with serving(echo) as srv:

        def client() -> tuple[Any, str]:
            url = f"ws://127.0.0.1:{srv.port}/z"
            with websockets_client.connect(url, open_timeout=HANG_GUARD, compression="deflate") as ws:
                extensions = ws.response.headers.get("Sec-WebSocket-Extensions", "")
                ws.send("compress me " * 1000)
                return ws.recv(timeout=HANG_GUARD), extensions

        echoed, extensions = tpool.execute(client)
        assert echoed == "compress me " * 1000
        assert extensions.startswith("permessage-deflate")


def test_eventlets_client_side_class_talks_to_the_server() -> None:
    from greenlane.websocket import RFC6455WebSocket

    with serving(echo) as srv:
        sock = open_raw(srv)
        ws = RFC6455WebSocket(sock, {}, client=True)
        ws.send(b"bin")
        ws.send("text")
        assert ws.wait() == b"bin"
        assert ws.wait() == "text"
        ws.close()
        assert ws.wait() is None
        sock.close()


def test_a_frame_announcing_more_than_max_frame_length_is_refused_at_its_header() -> None:
    handler = WebSocketWSGI(echo.handler, max_frame_length=1000)
    with serving(handler) as srv:
        sock = open_raw(srv)
        sock.sendall(client_frame(0x2, b"x" * 1001)[:20])  # the header and a few bytes: refused already
        frames = server_frames(read_to_close(sock))
        sock.close()
    assert frames[-1][0] == 0x8
    assert frames[-1][1] == b"\x03\xf1Incoming frame of 1001 bytes is above length limit of 1000 bytes."


def test_the_client_reads_the_servers_close_payload() -> None:
    from greenlane.websocket import RFC6455WebSocket

    handler = WebSocketWSGI(echo.handler, max_frame_length=10)
    with serving(handler) as srv:
        sock = open_raw(srv)
        ws = RFC6455WebSocket(sock, {}, client=True)
        ws.send(b"x" * 11)
        assert ws.wait() is None
        reason = b"Incoming frame of 11 bytes is above length limit of 10 bytes."
        assert ws._remote_close_data == b"\x03\xf1" + reason
        assert ws.close_code == 1009
        sock.close()


def test_eventlets_private_frame_helpers() -> None:
    """RFC 7692 7.2.3's "Hello" examples, through eventlet's private helpers (its tests use them)."""
    from greenlane.websocket import RFC6455WebSocket

    params = {"client_no_context_takeover": False, "server_no_context_takeover": True}
    deflate = {"permessage-deflate": params}
    ws = RFC6455WebSocket(None, {}, client=True, extensions=deflate)
    assert ws._pack_message(b"Hello", masked=False) == b"\xc2\x07\xf2\x48\xcd\xc9\xc9\x07\x00"
    assert ws._pack_message(b"Hello", masked=False) == b"\xc2\x05\xf2\x00\x11\x00\x00"  # context kept
    masked = ws._pack_message(b"Hello", masked=True)
    assert masked[1] & 0x80 and len(masked) == 2 + 4 + (masked[1] & 0x7F)  # key, then the payload


def test_a_client_may_set_extensions_after_construction() -> None:
    """eventlet's test_send_uncompressed_msg: send plain, then read the server's compressed reply."""
    from greenlane.websocket import RFC6455WebSocket

    with serving(echo) as srv:
        sock = open_raw(srv, extra="Sec-WebSocket-Extensions: permessage-deflate\r\n")
        ws = RFC6455WebSocket(sock, {}, client=True)
        ws.send(b"Hello")  # uncompressed (RSV1 unset) on a deflate connection: allowed
        ws.extensions = {
            "permessage-deflate": {"client_no_context_takeover": False, "server_no_context_takeover": False}
        }
        assert ws.wait() == b"Hello"
        assert [ext.name for ext in ws.extensions] == ["permessage-deflate"]
        ws.close()
        sock.close()
