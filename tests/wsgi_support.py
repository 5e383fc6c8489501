"""Helpers for the greenlane.wsgi tests: a server on loopback in a green thread, raw clients."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import greenlane
from greenlane import wsgi
from greenlane.green import socket as gsocket

# Bounds a wait that should end at once: reached only if something hangs.
HANG_GUARD = 10.0


class Running:
    """A server started by ``serving``: its port, log and the paths the application saw."""

    def __init__(self, port: int, log: io.StringIO, seen: list[str]) -> None:
        self.port = port
        self.log = log
        self.seen = seen

    def connect(self) -> gsocket.socket:
        sock = gsocket.create_connection(("127.0.0.1", self.port))
        sock.settimeout(HANG_GUARD)
        return sock

    def exchange(self, raw: bytes) -> bytes:
        """Send ``raw`` on a new connection; everything the server sends until it closes."""
        with self.connect() as sock:
            sock.sendall(raw)
            return read_to_close(sock)

    def get(self, path: str = "/") -> bytes:
        """A fresh connection's answer to a plain GET (proves the server still serves)."""
        return self.exchange(f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())


def read_to_close(sock: Any) -> bytes:
    parts = []
    while True:
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            break
        if not data:
            break
        parts.append(data)
    return b"".join(parts)


def hello(env: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello " + env["PATH_INFO"].encode("latin-1")]


@contextmanager
def serving(app: Callable[..., Any] = hello, **kwargs: Any) -> Iterator[Running]:
    """Run ``wsgi.server`` for ``app`` on 127.0.0.1; stop it (gracefully) at the end."""
    seen: list[str] = []

    def recording(env: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        seen.append(env["PATH_INFO"])
        return app(env, start_response)

    log = io.StringIO()
    listener = greenlane.listen(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    kwargs.setdefault("log", log)
    kwargs.setdefault("stop_timeout", HANG_GUARD)
    server = greenlane.spawn(wsgi.server, listener, recording, **kwargs)
    greenlane.sleep(0)  # let it reach accept()
    try:
        yield Running(port, log, seen)
    finally:
        server.kill()
        try:
            server.wait()  # the graceful stop: idle connections closed, in-flight ones finished
        except greenlane.GreenletExit:
            pass
        assert listener.fileno() == -1, "server() closes its listening socket"


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])
