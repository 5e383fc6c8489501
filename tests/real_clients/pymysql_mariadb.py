"""PyMySQL against MariaDB: 20 queries at once on 20 connections, each held 0.5 s (SELECT SLEEP)."""
from urllib.parse import urlsplit

from _overlap import HOLD, overlap, setting
from _runtime import check, patch

patch()
import pymysql  # noqa: E402

url = urlsplit(setting("GREENLANE_TEST_MYSQL_URL"))
ids: dict[int, int] = {}


def connect(i: int) -> pymysql.connections.Connection:  # type: ignore[type-arg]
    return pymysql.connect(
        host=url.hostname,
        port=url.port or 3306,
        user=url.username,
        password=url.password or "",
        database=url.path.lstrip("/") or None,
        read_timeout=30,
    )


def call(conn: pymysql.connections.Connection, i: int) -> tuple[object, ...]:  # type: ignore[type-arg]
    with conn.cursor() as cur:
        cur.execute("SELECT SLEEP(%s), %s, CONCAT('reply-', %s), CONNECTION_ID()", (HOLD, i, i))
        row = cur.fetchone()
    ids[i] = row[3]
    return row[:3]  # type: ignore[no-any-return]


overlap(
    f"PyMySQL {pymysql.__version__}",
    connect=connect,
    call=call,
    expected=lambda i: (0, i, f"reply-{i}"),
)
check(len(set(ids.values())) == len(ids), f"one server connection a call: {ids}")
print("pass")
