"""psycopg 3 (pure-Python mode) against PostgreSQL: 20 queries at once on 20 connections, each held 0.5 s.

psycopg's C extension waits for the socket in C (``wait_c``, a poll() the patch
cannot reach), which would block the hub; its pure-Python mode waits through
``select``, which the patch makes green. The test runs with
``PSYCOPG_IMPL=python`` and checks that mode is the one in use.
"""
from _overlap import HOLD, overlap, setting
from _runtime import check, patch

patch()
import psycopg  # noqa: E402
from psycopg import waiting  # noqa: E402

check(psycopg.pq.__impl__ == "python", f"psycopg runs its {psycopg.pq.__impl__} implementation, not python")
check(waiting.wait.__name__ != "wait_c", "psycopg waits in C")
url = setting("GREENLANE_TEST_POSTGRES_URL")
pids: dict[int, int] = {}


def call(conn: psycopg.Connection[tuple[object, ...]], i: int) -> tuple[object, ...]:
    query = "SELECT pg_sleep(%s), %s::int, 'reply-' || %s, pg_backend_pid()"
    row = conn.execute(query, (HOLD, i, i)).fetchone()
    assert row is not None
    pids[i] = row[3]  # type: ignore[assignment]
    return row[1:3]


overlap(
    f"psycopg {psycopg.__version__} ({psycopg.pq.__impl__}, {waiting.wait.__name__})",
    connect=lambda i: psycopg.connect(url, autocommit=True, connect_timeout=30),
    call=call,
    expected=lambda i: (i, f"reply-{i}"),
)
check(len(set(pids.values())) == len(pids), f"one server process a call: {pids}")
print("pass")
