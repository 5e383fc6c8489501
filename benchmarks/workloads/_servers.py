"""The server harness of echo and http, per framework: start, load with the neutral client, stop.

Each framework serves through its normal public API: greenlane and eventlet
with ``listen`` + ``serve`` (the very same code), gevent with its
``StreamServer``, asyncio and uvloop with ``start_server`` streams. The
handler is the workload's own; the main green thread (or coroutine) only
checks every ``CLIENT_POLL_S`` whether the client has finished.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from benchmarks.frameworks import load, on_asyncio, on_greenlane_asyncio, on_uvloop
from benchmarks.workloads._base import Impl, Sample, Stopwatch
from benchmarks.workloads._net import BACKLOG, CLIENT_POLL_S, HOST, Client, make_sample

GreenHandler = Callable[[Any, Any], None]
StreamHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Coroutine[Any, Any, None]]


def eventlet_api(top: str, mode: str, handler: GreenHandler) -> Impl:
    """greenlane or eventlet: ``listen`` + ``serve(sock, handler)``."""

    def run(ms: int) -> Sample:
        lib = load(top)
        sock = lib.listen((HOST, 0), backlog=BACKLOG)
        server = lib.spawn(lib.serve, sock, handler)
        client = Client(mode, sock.getsockname()[1], ms / 1000)
        with Stopwatch() as sw:
            while client.running():
                lib.sleep(CLIENT_POLL_S)
        server.kill()
        sock.close()
        return make_sample(mode, client, sw)

    return run


def gevent(mode: str, handler: GreenHandler) -> Impl:
    """gevent: ``StreamServer(address, handler)``."""

    def run(ms: int) -> Sample:
        lib = load("gevent")
        server = load("gevent.server").StreamServer((HOST, 0), handler, backlog=BACKLOG)
        server.start()
        client = Client(mode, server.server_port, ms / 1000)
        with Stopwatch() as sw:
            while client.running():
                lib.sleep(CLIENT_POLL_S)
        server.stop()
        return make_sample(mode, client, sw)

    return run


def _streams(mode: str, handler: StreamHandler) -> Callable[[int], Coroutine[Any, Any, Sample]]:
    async def main(ms: int) -> Sample:
        server = await asyncio.start_server(handler, HOST, 0, backlog=BACKLOG)
        client = Client(mode, server.sockets[0].getsockname()[1], ms / 1000)
        with Stopwatch() as sw:
            while client.running():
                await asyncio.sleep(CLIENT_POLL_S)
        server.close()
        return make_sample(mode, client, sw)

    return main


def implementations(mode: str, green: GreenHandler, stream: StreamHandler) -> dict[str, Impl]:
    """One server per framework, all running the workload's handlers."""
    from benchmarks.workloads._miniserver import minimal_loop

    return {
        "greenlane": eventlet_api("greenlane", mode, green),
        "greenlane-asyncio": on_greenlane_asyncio(eventlet_api("greenlane", mode, green)),
        "greenlet": minimal_loop(mode, green),
        "eventlet": eventlet_api("eventlet", mode, green),
        "gevent": gevent(mode, green),
        "asyncio": on_asyncio(_streams(mode, stream)),
        "uvloop": on_uvloop(_streams(mode, stream)),
    }
