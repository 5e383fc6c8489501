"""asyncio and green threads in one OS thread, on one event loop, calling each other.

1. An asyncio app (``asyncio.run``) calls a blocking library, urllib, in green
   threads: ``await green(fn, ...)``. Five lookups run at once; the loop never blocks.
2. Blocking-style green code calls an asyncio client (here a small HTTP GET over
   asyncio streams, standing in for aiohttp, httpx or asyncpg): ``await_(coro)``
   blocks only the calling green thread.

Both halves talk to a slow HTTP backend written with green sockets, which runs on
the same loop. Each batch of five 0.2 s requests takes about 0.2 s, not 1 s.
"""

from __future__ import annotations

import asyncio
import time

import greenlane
from greenlane import hubs
from greenlane.asyncio import await_, green
from greenlane.green.urllib import request as green_urllib  # urllib on green sockets

DELAY = 0.2


# -- a slow HTTP backend, in blocking style on green sockets ---------------------------


def backend(listener: greenlane.green.socket.socket) -> None:
    while True:
        conn, _ = listener.accept()
        greenlane.spawn(answer, conn)


def answer(conn: greenlane.green.socket.socket) -> None:
    with conn:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = conn.recv(4096)
            if not chunk:
                return
            request += chunk
        path = request.split()[1].decode()
        greenlane.sleep(DELAY)  # a slow database behind it
        body = f"{path.strip('/')}: ok".encode()
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))


# -- 1. an asyncio app calling a blocking library -------------------------------------


def lookup(port: int, name: str) -> str:
    """Blocking code: urllib, unchanged but for its green sockets."""
    with green_urllib.urlopen(f"http://127.0.0.1:{port}/{name}") as response:
        return response.read().decode()


async def asyncio_app() -> None:
    listener = greenlane.listen(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = green(backend, listener)  # the backend runs in a green thread of this loop
    start = time.monotonic()
    answers = await asyncio.gather(*(green(lookup, port, f"user{i}") for i in range(5)))
    print(f"asyncio app, blocking urllib in green threads: {answers} in {time.monotonic() - start:.1f} s")
    server.cancel()  # kills the backend's green thread
    listener.close()


# -- 2. blocking-style green code calling an asyncio client ---------------------------


async def async_get(port: int, path: str) -> str:
    """An asyncio client (the kind of library you would import)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n".encode())
    await writer.drain()
    response = await reader.read()
    writer.close()
    await writer.wait_closed()
    return response.partition(b"\r\n\r\n")[2].decode()


def report(port: int, name: str) -> str:
    """Blocking-style code: the coroutine's result, as if it were a plain call."""
    return await_(async_get(port, f"/{name}"))


def green_program() -> None:
    hubs.use_hub("asyncio")  # greenlane starts and drives an asyncio loop
    listener = greenlane.listen(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = greenlane.spawn(backend, listener)
    start = time.monotonic()
    threads = [greenlane.spawn(report, port, f"item{i}") for i in range(5)]
    answers = [t.wait() for t in threads]
    print(f"green code, asyncio client via await_: {answers} in {time.monotonic() - start:.1f} s")
    server.kill()
    listener.close()


if __name__ == "__main__":
    asyncio.run(asyncio_app())
    green_program()
