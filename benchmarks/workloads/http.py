"""http: keep-alive "hello" over raw sockets, 100 connections; server CPU us per request.

Size: milliseconds of load (``wrk`` rounds it to whole seconds, at least one).
The server is the smallest honest HTTP/1.1 keep-alive server: it reads until
a request's blank line and answers each request with a fixed response. The
green frameworks run it on raw sockets (``recv``/``sendall``; greenlane and
eventlet through ``serve``), asyncio and uvloop on streams. Loaded by ``wrk``
when installed, else by the neutral client; the check counts errors and
non-200 answers.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from benchmarks.workloads._base import Metric, Sizes, Workload
from benchmarks.workloads._servers import implementations

CHUNK: Final = 65536
END_OF_HEAD: Final = b"\r\n\r\n"
RESPONSE: Final = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!"
)


def hello(conn: Any, _address: Any) -> None:
    """The handler every green framework runs."""
    recv, sendall = conn.recv, conn.sendall
    pending = b""
    while True:
        try:
            data = recv(CHUNK)
        except ConnectionResetError:  # wrk resets its connections when it stops
            break
        if not data:
            break
        pending += data
        requests = pending.count(END_OF_HEAD)
        if requests:
            sendall(RESPONSE * requests)
            pending = pending[pending.rfind(END_OF_HEAD) + len(END_OF_HEAD) :]


async def stream_hello(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """The same, on asyncio streams."""
    pending = b""
    while True:
        data = await reader.read(CHUNK)
        if not data:
            break
        pending += data
        requests = pending.count(END_OF_HEAD)
        if requests:
            writer.write(RESPONSE * requests)
            await writer.drain()
            pending = pending[pending.rfind(END_OF_HEAD) + len(END_OF_HEAD) :]
    writer.close()


WORKLOAD = Workload(
    name="http",
    description="keep-alive hello on raw sockets, 100 connections",
    metrics=(
        Metric("server_us_per_req", "server CPU us per request"),
        Metric("req_per_s", "requests/s", higher_is_better=True),
        Metric("p99_us", "client p99 us"),
    ),
    sizes=Sizes(full=2000, quick=1000, smoke=200),
    implementations=implementations("http", hello, stream_hello),
)
