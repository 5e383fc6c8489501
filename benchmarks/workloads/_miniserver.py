"""The floor of the server workloads: a minimal epoll loop over raw greenlet.

One greenlet per connection runs the workload's own handler on a tiny socket
wrapper whose ``recv`` parks until epoll reports the fd readable (each fd is
registered once, for reading) and whose ``sendall`` assumes the kernel takes
everything (it does: 64-byte messages, strict ping-pong). No timeouts,
cancellation or error handling: what greenlane's server path is measured
against, not a runtime.
"""

from __future__ import annotations

import select
import socket
from collections.abc import Callable
from typing import Any

from greenlet import getcurrent, greenlet

from benchmarks.workloads._base import Impl, Sample, Stopwatch
from benchmarks.workloads._net import BACKLOG, HOST, Client, make_sample

# How long the loop's epoll_wait may sleep: it also checks the client this often.
POLL_S = 0.02


class _Conn:
    __slots__ = ("fd", "loop", "sock")

    def __init__(self, loop: _Loop, sock: socket.socket) -> None:
        self.loop, self.sock, self.fd = loop, sock, sock.fileno()

    def recv(self, size: int) -> bytes:
        self.loop.waiting[self.fd] = getcurrent()
        self.loop.glet.switch()
        return self.sock.recv(size)

    def sendall(self, data: bytes) -> None:
        self.sock.send(data)


class _Loop:
    def __init__(self, listener: socket.socket, handler: Callable[[Any, Any], None]) -> None:
        self.listener, self.handler = listener, handler
        self.ep = select.epoll()
        self.waiting: dict[int, greenlet] = {}
        self.glet = greenlet(self._run)
        self.ep.register(listener.fileno(), select.EPOLLIN)

    def _serve(self, sock: socket.socket) -> None:
        try:
            self.handler(_Conn(self, sock), None)
        finally:
            self.ep.unregister(sock.fileno())
            sock.close()

    def _run(self, client: Client) -> None:
        listen_fd, waiting = self.listener.fileno(), self.waiting
        while client.running():
            for fd, _ in self.ep.poll(POLL_S):
                if fd == listen_fd:
                    sock, _ = self.listener.accept()
                    sock.setblocking(False)
                    self.ep.register(sock.fileno(), select.EPOLLIN)
                    greenlet(self._serve, self.glet).switch(sock)
                else:
                    waiting.pop(fd).switch()


def minimal_loop(mode: str, handler: Callable[[Any, Any], None]) -> Impl:
    """The raw-greenlet floor running ``handler``."""

    def run(ms: int) -> Sample:
        listener = socket.create_server((HOST, 0), backlog=BACKLOG)
        listener.setblocking(False)
        loop = _Loop(listener, handler)
        client = Client(mode, listener.getsockname()[1], ms / 1000)
        with Stopwatch() as sw:
            loop.glet.switch(client)
        listener.close()
        loop.ep.close()
        return make_sample(mode, client, sw)

    return run
