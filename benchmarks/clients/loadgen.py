"""loadgen in Python: the same closed-loop client as ``loadgen.c``, for machines without a C compiler.

    python -m benchmarks.clients.loadgen HOST PORT CONNECTIONS SECONDS echo|http|http-close

It saturates much earlier than the C client, so absolute rates are lower;
server CPU per round trip, the figure the workloads compare, stays comparable
between frameworks measured with the same client.
"""

from __future__ import annotations

import json
import select
import socket
import sys
import time
from typing import Final

ECHO_MESSAGE: Final = bytes(ord("a") + i % 26 for i in range(64))
HTTP_REQUEST: Final = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
# http-close: one request per connection, read until the server closes (see loadgen.c).
CLOSE_REQUEST: Final = b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
HIST_LIMIT_US: Final = 100_000


def _complete(buf: bytes, http: bool) -> int:
    """1 if ``buf`` holds one whole response, 0 if it needs more, -1 if it is wrong."""
    if not http:
        if len(buf) < len(ECHO_MESSAGE):
            return 0
        return 1 if buf == ECHO_MESSAGE else -1
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return 0
    head = buf[:end].lower()
    if not head.startswith(b"http/1.1 200"):
        return -1
    at = head.find(b"content-length:")
    if at < 0:
        return -1
    total = end + 4 + int(head[at + 15 :].split(b"\r\n", 1)[0])
    if len(buf) < total:
        return 0
    return 1 if len(buf) == total else -1


def _connect(host: str, port: int, ep: select.epoll, conns: dict[int, socket.socket]) -> socket.socket:
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conns[sock.fileno()] = sock
    ep.register(sock.fileno(), select.EPOLLIN)
    return sock


def main(argv: list[str]) -> int:
    if len(argv) != 5 or argv[4] not in {"echo", "http", "http-close"}:
        print(__doc__, file=sys.stderr)
        return 2
    host, port, n, seconds, mode = argv[0], int(argv[1]), int(argv[2]), float(argv[3]), argv[4]
    http = mode == "http"
    closing = mode == "http-close"
    request = HTTP_REQUEST if http else CLOSE_REQUEST if closing else ECHO_MESSAGE
    ep = select.epoll()
    conns: dict[int, socket.socket] = {}
    bufs: dict[int, bytes] = {}
    sent_at: dict[int, float] = {}
    for _ in range(n):
        _connect(host, port, ep, conns)
    latencies: list[float] = []
    round_trips = errors = 0
    start = time.monotonic()
    deadline = start + seconds
    for fd, sock in conns.items():
        bufs[fd] = b""
        sent_at[fd] = time.monotonic()
        sock.sendall(request)
    while time.monotonic() < deadline:
        for fd, _ in ep.poll(0.1):
            sock = conns[fd]
            data = sock.recv(8192)
            if closing:
                if data:
                    bufs[fd] = (bufs[fd] + data)[:8192]  # only the head matters
                    continue
                # The server closed: that was the whole response; the next goes on a new connection.
                if bufs.pop(fd).startswith(b"HTTP/1.1 200"):
                    round_trips += 1
                    latencies.append(time.monotonic() - sent_at.pop(fd))
                else:
                    errors += 1
                    sent_at.pop(fd)
                ep.unregister(fd)
                del conns[fd]
                sock.close()
                began = time.monotonic()  # the latency counts the connect
                sock = _connect(host, port, ep, conns)
                bufs[sock.fileno()] = b""
                sent_at[sock.fileno()] = began
                sock.sendall(request)
                continue
            if not data:
                errors += 1
                ep.unregister(fd)
                continue
            bufs[fd] += data
            done = _complete(bufs[fd], http)
            if done == 0:
                continue
            if done < 0:
                errors += 1
            else:
                round_trips += 1
                latencies.append(time.monotonic() - sent_at[fd])
            bufs[fd] = b""
            sent_at[fd] = time.monotonic()
            sock.sendall(request)
    elapsed = time.monotonic() - start
    # Close gracefully: no more requests, then read what is still coming until the
    # server closes too, on every connection at once (closing with unread data would
    # reset the connection; a server that lingers after closing must not be waited
    # for one connection at a time).
    for sock in conns.values():
        sock.shutdown(socket.SHUT_WR)
    drain_until = time.monotonic() + 5
    while conns and time.monotonic() < drain_until:
        for fd, _ in ep.poll(0.1):
            try:
                more = conns[fd].recv(8192)
            except OSError:  # reset: closed all the same
                more = b""
            if not more:
                ep.unregister(fd)
                conns.pop(fd).close()
    for sock in conns.values():
        sock.close()
    latencies.sort()
    p99 = latencies[max(0, len(latencies) * 99 // 100 - 1)] * 1e6 if latencies else 0.0
    result = {"round_trips": round_trips, "errors": errors, "elapsed_s": elapsed, "p99_us": int(p99)}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
