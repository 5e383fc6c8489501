"""echo: a TCP echo server under 100 connections of 64-byte strict round trips; server CPU us per round trip.

Size: milliseconds of load. The neutral client (``_net``) keeps one message
in flight per connection and checks each comes back intact. The green
frameworks run the handler below (plain ``recv``/``sendall``), asyncio and
uvloop its streams twin, ``uvloop-protocol`` its ``Protocol`` twin (uvloop
at its fastest, a reference column); ``_servers`` starts each the way its users do.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final, cast

from benchmarks.workloads._base import Metric, Sizes, Workload
from benchmarks.workloads._servers import implementations

CHUNK: Final = 4096


def echo(conn: Any, _address: Any) -> None:
    """The handler every green framework runs."""
    recv, sendall = conn.recv, conn.sendall
    while True:
        try:
            data = recv(CHUNK)
        except ConnectionResetError:  # wrk resets its connections when it stops
            break
        if not data:
            break
        sendall(data)


async def stream_echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """The same, on asyncio streams."""
    while True:
        data = await reader.read(CHUNK)
        if not data:
            break
        writer.write(data)
        await writer.drain()
    writer.close()


class EchoProtocol(asyncio.Protocol):
    """The same as a uvloop ``Protocol``: the reference column ``uvloop-protocol``."""

    transport: asyncio.Transport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have write().
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


WORKLOAD = Workload(
    name="echo",
    description="TCP echo, 100 connections x 64-byte round trips",
    metrics=(
        Metric("server_us_per_rt", "server CPU us per round trip"),
        Metric("rt_per_s", "round trips/s", higher_is_better=True),
        Metric("p99_us", "client p99 us"),
    ),
    sizes=Sizes(full=2000, quick=1000, smoke=200),
    implementations=implementations("echo", echo, stream_echo, EchoProtocol),
)
