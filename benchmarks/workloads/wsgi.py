"""wsgi: keep-alive hello-world WSGI app, 100 connections; req/s and server CPU us per request.

Size: milliseconds of load. Each framework serves the same WSGI application
through its own WSGI server and its users' usual call: ``greenlane.wsgi.server``
and ``eventlet.wsgi.server`` on a ``listen`` socket, ``gevent.pywsgi.WSGIServer``.
Access logging is off on every server. Loaded by ``wrk`` when installed, else by
the neutral client (the same one as ``http``); the check counts errors and
non-200 answers. The neutral client saturates near the fastest servers, so
server CPU per request is the figure to compare.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from benchmarks.frameworks import load
from benchmarks.workloads._base import Impl, Metric, Sample, Sizes, Stopwatch, Workload
from benchmarks.workloads._net import BACKLOG, CLIENT_POLL_S, HOST, Client, make_sample

BODY: Final = b"Hello, World!"
HEADERS: Final = [("Content-Type", "text/plain")]
# Above the client's 100 connections: no server queues connections in its pool.
MAX_CONNECTIONS: Final = 1024


def hello(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """The WSGI application every server runs."""
    start_response("200 OK", HEADERS)
    return [BODY]


def eventlet_style(top: str) -> Impl:
    """greenlane or eventlet: ``listen`` + ``wsgi.server(sock, app, log_output=False)``."""

    def run(ms: int) -> Sample:
        lib = load(top)
        wsgi = load(f"{top}.wsgi")
        sock = lib.listen((HOST, 0), backlog=BACKLOG)
        port = sock.getsockname()[1]
        server = lib.spawn(wsgi.server, sock, hello, log_output=False, max_size=MAX_CONNECTIONS)
        client = Client("http", port, ms / 1000)
        with Stopwatch() as sw:
            while client.running():
                lib.sleep(CLIENT_POLL_S)
        sample = make_sample("http", client, sw)
        server.kill()
        return sample

    return run


def gevent(ms: int) -> Sample:
    """gevent: ``pywsgi.WSGIServer(address, app, log=None).start()``."""
    lib = load("gevent")
    pywsgi = load("gevent.pywsgi")
    server = pywsgi.WSGIServer((HOST, 0), hello, log=None, backlog=BACKLOG)
    server.start()
    client = Client("http", server.server_port, ms / 1000)
    with Stopwatch() as sw:
        while client.running():
            lib.sleep(CLIENT_POLL_S)
    sample = make_sample("http", client, sw)
    server.stop()
    return sample


WORKLOAD = Workload(
    name="wsgi",
    description="keep-alive hello-world WSGI app, 100 connections",
    metrics=(
        Metric("server_us_per_req", "server CPU us per request"),
        Metric("req_per_s", "requests/s", higher_is_better=True),
        Metric("p99_us", "client p99 us"),
    ),
    sizes=Sizes(full=2000, quick=1000, smoke=200),
    implementations={
        "greenlane": eventlet_style("greenlane"),
        "eventlet": eventlet_style("eventlet"),
        "gevent": gevent,
    },
)
