"""An eventlet program, unmodified: it runs on eventlet, and on greenlane through the alias.

    python examples/eventlet_echo.py                           # on eventlet, if installed
    python -m greenlane --eventlet examples/eventlet_echo.py   # on greenlane, not one line changed

``import eventlet`` resolves to greenlane's modules under ``--eventlet`` (or with
``GREENLANE_EVENTLET=1`` in the environment): the program's own
``eventlet.monkey_patch()`` makes the stdlib cooperative, so 50 clients in plain
blocking code (``socket``, ``time.sleep``, ``threading``) overlap their waits.
"""

import eventlet

eventlet.monkey_patch()

import socket  # noqa: E402  (after monkey_patch, as eventlet programs do)
import threading  # noqa: E402
import time  # noqa: E402

from eventlet import greenpool, queue  # noqa: E402

CLIENTS = 50
THINK_TIME = 0.2  # each client waits this long before reading its reply


def handle(conn: socket.socket) -> None:
    """Echo each line back in upper case until the client hangs up."""
    with conn, conn.makefile("rwb") as stream:
        for line in stream:
            stream.write(line.upper())
            stream.flush()


def serve(listener: socket.socket, pool: greenpool.GreenPool) -> None:
    """Accept connections forever, one green thread per connection."""
    while True:
        conn, _ = listener.accept()
        pool.spawn_n(handle, conn)


def client(port: int, n: int) -> str:
    """Send one line, think (a blocking sleep), read the answer."""
    with socket.create_connection(("127.0.0.1", port)) as sock, sock.makefile("rwb") as stream:
        stream.write(f"hello from client {n}\n".encode())
        stream.flush()
        time.sleep(THINK_TIME)
        return stream.readline().decode().strip()


def main() -> None:
    listener = eventlet.listen(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = eventlet.spawn(serve, listener, greenpool.GreenPool(100))

    started = time.monotonic()
    pile = eventlet.GreenPile(CLIENTS)
    for n in range(CLIENTS):
        pile.spawn(client, port, n)
    replies = list(pile)
    elapsed = time.monotonic() - started
    assert replies == [f"HELLO FROM CLIENT {n}" for n in range(CLIENTS)], replies

    # After monkey_patch a threading.Thread is a green thread; a queue hands results back.
    results: queue.Queue[int] = queue.Queue()
    workers = [threading.Thread(target=lambda n=n: results.put(n * n)) for n in range(5)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    squares = sorted(results.get() for _ in workers)

    with eventlet.Timeout(0.1, False):  # False: give up quietly
        eventlet.sleep(10)
    server.kill()
    listener.close()

    greenlane_version = getattr(eventlet, "__greenlane_version__", None)
    runtime = f"greenlane {greenlane_version}" if greenlane_version else f"eventlet {eventlet.__version__}"
    print(f"squares from green threads: {squares}")
    print(f"{CLIENTS} clients, {THINK_TIME} s each, all answered in {elapsed:.2f} s on {runtime}")


if __name__ == "__main__":
    main()
