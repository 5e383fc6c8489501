"""wsgi: keep-alive hello-world WSGI app, 100 connections; req/s and server CPU us per request.

Size: milliseconds of load. Each framework serves the same WSGI application
through its own WSGI server and its users' usual call: ``greenlane.wsgi.server``
and ``eventlet.wsgi.server`` on a ``listen`` socket, ``gevent.pywsgi.WSGIServer``;
and ``greenlane.gunicorn.GreenWorker`` under gunicorn with ``-w 1`` and ``-w 2``
(a subprocess: its master and workers' CPU, read with psutil, is the server's).
On 2 cores the client shares the machine with the workers, so ``-w 2`` shows in
CPU per request more than in requests/s. gunicorn's default sync worker
(``gunicorn-sync``, ``-w 1``) closes every connection after its response, so it
is loaded **without keep-alive**: each request says ``Connection: close`` and
goes on a new connection (the client's ``http-close`` mode), which costs a TCP
connect and close per request on both sides; its column is gunicorn's stock
setup, not a like-for-like comparison. Access logging is off on every server.
Loaded by ``wrk`` when installed, else by the neutral client (the same one
as ``http``); the check counts errors and non-200 answers. On this 2-core VM
the C client costs about 20 us of CPU per request, wrk about 24: wrk is no
fairer here. The client shares the cores with the server, so server CPU per
request is the figure to compare; requests/s follows it only while the server
is the busier process.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any, Final

from benchmarks.frameworks import REPO_ROOT, SRC_DIR, load
from benchmarks.workloads._base import Check, Impl, Metric, Sample, Sizes, Stopwatch, Workload
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


# How long gunicorn may take to boot its workers before the sample is abandoned.
GUNICORN_BOOT_S: Final = 30.0


def _serving(port: int) -> bool:
    """True once a GET on ``port`` is answered."""
    try:
        with socket.create_connection((HOST, port), timeout=1.0) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
            return sock.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def _cpu_s(procs: list[Any]) -> float:
    total = 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
        except Exception:
            continue
        total += times.user + times.system
    return total


def gunicorn_style(worker_class: str, workers: int, mode: str = "http") -> Impl:
    """``gunicorn -k worker_class -w workers`` on a socket bound here (``fd://``), loaded in ``mode``."""

    def run(ms: int) -> Sample:
        import psutil  # the bench extra

        listener = socket.socket()
        listener.bind((HOST, 0))
        listener.listen(BACKLOG)
        port = listener.getsockname()[1]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (env.get("PYTHONPATH", ""), str(SRC_DIR), str(REPO_ROOT)) if p
        )
        command = [
            sys.executable, "-m", "gunicorn", "-k", worker_class, "-w", str(workers),
            "--worker-connections", str(MAX_CONNECTIONS), "--keep-alive", "75", "--graceful-timeout", "1",
            "--bind", f"fd://{listener.fileno()}", "--log-level", "warning",
            "benchmarks.workloads.wsgi:hello",
        ]  # fmt: skip
        master = subprocess.Popen(command, env=env, pass_fds=[listener.fileno()], stdin=subprocess.DEVNULL)
        try:
            booted = time.monotonic() + GUNICORN_BOOT_S
            while not _serving(port):
                if master.poll() is not None or time.monotonic() > booted:
                    raise RuntimeError(f"gunicorn ({worker_class}) did not start serving")
                time.sleep(0.05)
            procs = [psutil.Process(master.pid), *psutil.Process(master.pid).children()]
            cpu0 = _cpu_s(procs)
            wall0 = time.perf_counter()
            client = Client(mode, port, ms / 1000)
            while client.running():
                time.sleep(CLIENT_POLL_S)
            got = client.result()
            wall = time.perf_counter() - wall0
            cpu = _cpu_s(procs) - cpu0
        finally:
            master.send_signal(signal.SIGQUIT)  # gunicorn's quick shutdown
            master.wait(timeout=30)
            listener.close()
        trips = int(got["round_trips"])
        return Sample(
            metrics={
                "server_us_per_req": cpu * 1e6 / max(trips, 1),
                "req_per_s": trips / got["elapsed_s"],
                "p99_us": got["p99_us"],
            },
            wall_s=wall,
            cpu_s=cpu,
            check=Check(
                got={"errors": int(got["errors"]), "served": int(trips > 0)},
                expected={"errors": 0, "served": 1},
            ),
        )

    return run


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
        "gunicorn-green": gunicorn_style("greenlane.gunicorn.GreenWorker", 1),
        "gunicorn-green-w2": gunicorn_style("greenlane.gunicorn.GreenWorker", 2),
        "gunicorn-sync": gunicorn_style("sync", 1, mode="http-close"),
    },
)
