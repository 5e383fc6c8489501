"""redis-py against redis-server: 20 pipelines at once, each held 0.5 s by the server (BLPOP).

BLPOP with a timeout parks the client inside the server without blocking it
(redis serves the others meanwhile), then answers nil. Each pipeline sends
``ECHO before-i; BLPOP <empty list> HOLD; ECHO after-i`` as one round trip, so a
reply that came back on another thread's connection would show.
"""
from _overlap import HOLD, N, overlap, setting
from _runtime import check, patch

patch()
import uuid  # noqa: E402

import redis  # noqa: E402

# One client for all threads, as an application has: its pool opens a connection a thread.
client = redis.Redis.from_url(setting("GREENLANE_TEST_REDIS_URL"), socket_timeout=30)
empty = f"greenlane-test:{uuid.uuid4().hex}"


def call(r: redis.Redis, i: int) -> list[object]:
    pipe = r.pipeline(transaction=False)
    pipe.echo(f"before-{i}")
    pipe.blpop([f"{empty}:{i}"], timeout=HOLD)
    pipe.echo(f"after-{i}")
    return pipe.execute()  # type: ignore[no-any-return]


overlap(
    f"redis-py {redis.__version__}",
    connect=lambda i: client if client.ping() else None,
    call=call,
    expected=lambda i: [f"before-{i}".encode(), None, f"after-{i}".encode()],
)
# The server saw (at least) one connection a thread: the calls did not queue on one socket.
clients = client.client_list()
check(len(clients) >= N, f"redis-server lists {len(clients)} clients, expected at least {N}")
client.close()
print("pass")
