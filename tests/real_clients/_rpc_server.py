"""The RPC server process for the kombu scenario (kombu, unpatched): holds each reply HOLD s.

``python _rpc_server.py URL QUEUE HOLD`` consumes requests from QUEUE on the
broker at URL, prints ``ready`` once it consumes, and answers each request
``{"n": n}`` with ``{"n": n, "reply": "reply-<n>"}`` to its ``reply_to`` queue
with its ``correlation_id``, HOLD seconds after the request arrived. Requests
are held side by side (one event loop, a deadline each), as an oslo.messaging
server with a pool of workers answers calls. It stops when its standard input
closes (the scenario that started it exited).
"""

from __future__ import annotations

import sys
import threading
import time

import kombu

url, queue_name, hold = sys.argv[1], sys.argv[2], float(sys.argv[3])
stdin_closed = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stdin_closed.set()), daemon=True).start()
held: list[tuple[float, kombu.Message]] = []


def on_request(body: dict[str, int], message: kombu.Message) -> None:
    held.append((time.monotonic() + hold, message))


with kombu.Connection(url) as conn:
    channel = conn.channel()
    queue = kombu.Queue(queue_name, channel=channel, auto_delete=True)
    producer = kombu.Producer(channel)
    with kombu.Consumer(channel, [queue], callbacks=[on_request], accept=["json"]):
        print("ready", flush=True)
        while not stdin_closed.is_set():
            now = time.monotonic()
            for due, message in [h for h in held if h[0] <= now]:
                held.remove((due, message))
                producer.publish(
                    {"n": message.payload["n"], "reply": f"reply-{message.payload['n']}"},
                    routing_key=message.properties["reply_to"],
                    correlation_id=message.properties["correlation_id"],
                    serializer="json",
                )
                message.ack()
            wait = min((due for due, _ in held), default=now + 0.1) - now
            try:
                conn.drain_events(timeout=max(0.001, min(wait, 0.1)))
            except TimeoutError:
                pass
