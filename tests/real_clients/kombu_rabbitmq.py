"""kombu / py-amqp against RabbitMQ, the way Nova's RPC runs through oslo.messaging: 20 calls at once.

oslo.messaging's ``call()`` over RabbitMQ: take a connection from a pool,
publish the request with ``reply_to`` (the process's one reply queue) and a
``correlation_id`` (oslo's ``_msg_id``), then wait for the reply that a single
reply-waiter thread (``ReplyWaiter``), draining the reply queue's connection,
hands over by that id. The server, another process, holds each reply 0.5 s.
"""
from _overlap import HOLD, N, overlap, setting
from _runtime import check, patch

patch()
import queue  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402

import amqp  # noqa: E402
import kombu  # noqa: E402

url = setting("GREENLANE_TEST_AMQP_URL")
run = uuid.uuid4().hex
server = subprocess.Popen(
    [sys.executable, str(Path(__file__).parent / "_rpc_server.py"), url, f"greenlane-rpc-{run}", str(HOLD)],
    stdin=subprocess.PIPE,
    stdout=subprocess.PIPE,
    text=True,
)
assert server.stdin is not None and server.stdout is not None
check(server.stdout.readline().strip() == "ready", "the RPC server process consumes")

waiters: dict[str, queue.Queue[dict[str, object]]] = {}
waiter_error: list[BaseException] = []
stop = threading.Event()


def on_reply(body: dict[str, object], message: kombu.Message) -> None:
    waiters[message.properties["correlation_id"]].put(body)
    message.ack()


def reply_waiter(conn: kombu.Connection, consumer: kombu.Consumer) -> None:
    try:
        with consumer:
            while not stop.is_set():
                try:
                    conn.drain_events(timeout=0.1)
                except TimeoutError:
                    pass
    except BaseException as exc:
        waiter_error.append(exc)


reply_conn = kombu.Connection(url)
reply_queue = kombu.Queue(f"greenlane-reply-{run}", exclusive=True, auto_delete=True)
consumer = kombu.Consumer(reply_conn.channel(), [reply_queue], callbacks=[on_reply], accept=["json"])
waiter = threading.Thread(target=reply_waiter, args=(reply_conn, consumer), name="reply-waiter")
waiter.start()
pool = kombu.Connection(url).Pool(limit=N)


def connect(i: int) -> kombu.Connection:
    conn = pool.acquire(block=True, timeout=30)
    conn.ensure_connection(max_retries=1)
    return conn


def call(conn: kombu.Connection, i: int) -> dict[str, object]:
    msg_id = uuid.uuid4().hex
    waiters[msg_id] = replies = queue.Queue()
    conn.Producer().publish(
        {"n": i},
        routing_key=f"greenlane-rpc-{run}",
        reply_to=reply_queue.name,
        correlation_id=msg_id,
        serializer="json",
    )
    return replies.get(timeout=30)


try:
    overlap(
        f"kombu {kombu.__version__} / py-amqp {amqp.__version__}",
        connect=connect,
        call=call,
        expected=lambda i: {"n": i, "reply": f"reply-{i}"},
    )
finally:
    stop.set()
    waiter.join(30)
    reply_conn.release()
    pool.force_close_all()
    server.stdin.close()
    server.wait(30)
check(not waiter_error, f"the reply waiter failed: {waiter_error}")
check(server.returncode == 0, f"the RPC server process exited {server.returncode}")
print("pass")
