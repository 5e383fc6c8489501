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


def _serving(
    mode: str, start: Callable[[], Coroutine[Any, Any, asyncio.Server]]
) -> Callable[[int], Coroutine[Any, Any, Sample]]:
    """An asyncio run: the server ``start`` makes, loaded by the neutral client for ``ms``."""

    async def main(ms: int) -> Sample:
        server = await start()
        client = Client(mode, server.sockets[0].getsockname()[1], ms / 1000)
        with Stopwatch() as sw:
            while client.running():
                await asyncio.sleep(CLIENT_POLL_S)
        server.close()
        return make_sample(mode, client, sw)

    return main


def _streams(mode: str, handler: StreamHandler) -> Callable[[int], Coroutine[Any, Any, Sample]]:
    return _serving(mode, lambda: asyncio.start_server(handler, HOST, 0, backlog=BACKLOG))


def _protocols(
    mode: str, factory: Callable[[], asyncio.Protocol]
) -> Callable[[int], Coroutine[Any, Any, Sample]]:
    async def start() -> asyncio.Server:
        return await asyncio.get_running_loop().create_server(factory, HOST, 0, backlog=BACKLOG)

    return _serving(mode, start)


def implementations(
    mode: str,
    green: GreenHandler,
    stream: StreamHandler,
    protocol: Callable[[], asyncio.Protocol] | None = None,
) -> dict[str, Impl]:
    """One server per framework, all running the workload's handlers.

    ``protocol``, if given, adds the ``uvloop-protocol`` reference column: uvloop
    at its fastest, a ``Protocol`` whose ``data_received`` answers at once.
    """
    from benchmarks.workloads._miniserver import minimal_loop

    impls = {
        "greenlane": eventlet_api("greenlane", mode, green),
        "greenlane-asyncio": on_greenlane_asyncio(eventlet_api("greenlane", mode, green)),
        "greenlet": minimal_loop(mode, green),
        "eventlet": eventlet_api("eventlet", mode, green),
        "gevent": gevent(mode, green),
        "asyncio": on_asyncio(_streams(mode, stream)),
        "uvloop": on_uvloop(_streams(mode, stream)),
    }
    if protocol is not None:
        impls["uvloop-protocol"] = on_uvloop(_protocols(mode, protocol))
    return impls
