"""greenlane.gunicorn.GreenWorker under a real gunicorn (the released package), on loopback."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from helpers import MONKEY_PATCH, native_hub_only

pytest.importorskip("httptools", reason="greenlane.wsgi needs the optional httptools (greenlane[wsgi])")
pytest.importorskip("gunicorn", reason="the gunicorn worker is tested against a real gunicorn (test extra)")

# Bounds waits that should end quickly: reached only if something hangs.
HANG_GUARD = 30.0

# The worker calls greenlane.monkey_patch() (see greenlane.gunicorn).
pytestmark = native_hub_only(MONKEY_PATCH)

APP = textwrap.dedent(
    """
    import os, time

    def plain(env, start_response):
        path = env["PATH_INFO"]
        if path.startswith("/slow"):
            seconds = float(env.get("QUERY_STRING") or 1)
            marker = os.environ.get("MARKER")
            if marker:
                open(marker, "w").close()  # tells the test the request is in flight
            time.sleep(seconds)  # patched by the worker: parks only this green thread
        body = f"{path} {env['wsgi.url_scheme']} {os.getpid()}".encode()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]

    try:
        import flask
    except ImportError:
        flask = None
    if flask is not None:
        flask_app = flask.Flask("gapp")

        @flask_app.route("/flask/<name>")
        def hello(name):
            return flask.jsonify(hello=name)

    def app(env, start_response):
        if env["PATH_INFO"].startswith("/flask/") and flask is not None:
            return flask_app(env, start_response)
        return plain(env, start_response)
    """
)


class Gunicorn:
    def __init__(self, proc: subprocess.Popen[str], port: int, log: Path, marker: Path) -> None:
        self.proc = proc
        self.port = port
        self.log = log
        self.marker = marker

    def connection(self, **kwargs: Any) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=HANG_GUARD, **kwargs)

    def get(self, path: str) -> tuple[int, bytes]:
        conn = self.connection()
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def wait_marker(self) -> None:
        deadline = time.monotonic() + HANG_GUARD
        while not self.marker.exists():
            assert time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.01)


def _wait_ready(server: Gunicorn) -> None:
    deadline = time.monotonic() + HANG_GUARD
    while True:
        try:
            if server.get("/ready")[0] == 200:
                return
        except OSError:
            pass
        if server.proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"gunicorn did not come up:\n{server.log.read_text()}")
        time.sleep(0.05)


def start(tmp_path: Path, *args: str, ready: bool = True) -> Gunicorn:
    (tmp_path / "gapp.py").write_text(APP)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    log = tmp_path / "gunicorn.log"
    marker = tmp_path / "in-flight"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), *sys.path])
    env["MARKER"] = str(marker)
    command = [
        sys.executable, "-m", "gunicorn", "-k", "greenlane.gunicorn.GreenWorker",
        "--bind", f"fd://{listener.fileno()}", "--no-control-socket", "--chdir", str(tmp_path),
        *args, "gapp:app",
    ]  # fmt: skip
    with log.open("w") as out:
        proc = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, pass_fds=[listener.fileno()], env=env, text=True
        )
    listener.close()
    server = Gunicorn(proc, port, log, marker)
    if ready:
        _wait_ready(server)
    return server


@pytest.fixture
def gunicorn(tmp_path: Path) -> Iterator[Any]:
    started: list[Gunicorn] = []

    def run(*args: str) -> Gunicorn:
        server = start(tmp_path, *args)
        started.append(server)
        return server

    yield run
    for server in started:
        if server.proc.poll() is None:
            server.proc.send_signal(signal.SIGQUIT)
            try:
                server.proc.wait(HANG_GUARD)
            except subprocess.TimeoutExpired:
                server.proc.kill()
                server.proc.wait()


def test_serves_a_plain_app_and_flask_over_keepalive(gunicorn: Any) -> None:
    server = gunicorn("-w", "1")
    conn = server.connection()
    conn.request("GET", "/one")
    first = conn.getresponse()
    assert first.status == 200
    assert first.read().startswith(b"/one http ")
    sock = conn.sock
    conn.request("GET", "/flask/world")
    second = conn.getresponse()
    assert second.status == 200
    assert b'"hello":"world"' in second.read().replace(b" ", b"")
    assert conn.sock is sock  # one keep-alive connection for both
    conn.close()


def test_green_concurrency_in_one_worker(gunicorn: Any) -> None:
    server = gunicorn("-w", "1", "--worker-connections", "100")
    results: list[int] = []

    def one() -> None:
        results.append(server.get("/slow?0.5")[0])

    threads = [threading.Thread(target=one) for _ in range(20)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(HANG_GUARD)
    elapsed = time.monotonic() - began
    assert results == [200] * 20
    assert elapsed < 5.0, f"20 x 0.5 s in one worker took {elapsed:.1f} s: not concurrent"  # serial: 10 s


def test_sigterm_is_graceful_in_flight_requests_finish(gunicorn: Any) -> None:
    server = gunicorn("-w", "1", "--graceful-timeout", "20")
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(server.get("/slow?1.5")))
    thread.start()
    server.wait_marker()
    server.proc.send_signal(signal.SIGTERM)
    thread.join(HANG_GUARD)
    assert result and result[0][0] == 200, server.log.read_text()
    assert server.proc.wait(HANG_GUARD) == 0


def test_sigquit_exits_at_once(gunicorn: Any) -> None:
    server = gunicorn("-w", "1", "--graceful-timeout", "60")
    thread = threading.Thread(target=lambda: _ignore_errors(server.get, "/slow?60"), daemon=True)
    thread.start()
    server.wait_marker()
    began = time.monotonic()
    server.proc.send_signal(signal.SIGQUIT)
    server.proc.wait(HANG_GUARD)
    assert time.monotonic() - began < 10.0  # not the 60 s request, not the 60 s graceful timeout


def _ignore_errors(fn: Any, *args: Any) -> None:
    try:
        fn(*args)
    except OSError:
        pass


def test_heartbeat_keeps_a_worker_with_long_green_waits_alive(gunicorn: Any) -> None:
    server = gunicorn("-w", "1", "--timeout", "1")
    status, body = server.get("/slow?2.5")  # longer than the timeout, but the hub keeps beating
    assert status == 200
    assert "WORKER TIMEOUT" not in server.log.read_text()
    assert server.get("/again")[1].split()[-1] == body.split()[-1]  # same worker pid


def test_max_requests_restarts_the_worker(gunicorn: Any) -> None:
    server = gunicorn("-w", "1", "--max-requests", "3")
    pids = []
    deadline = time.monotonic() + HANG_GUARD
    while len(set(pids)) < 2:  # a new worker pid once the first served its 3
        assert time.monotonic() < deadline, server.log.read_text()
        try:
            pids.append(server.get("/n")[1].split()[-1])
        except OSError:
            time.sleep(0.05)  # between the old worker's exit and the new one's start
    assert "Autorestarting worker" in server.log.read_text()


def test_two_workers_serve(gunicorn: Any) -> None:
    server = gunicorn("-w", "2")
    pids = {server.get(f"/n{i}")[1].split()[-1] for i in range(20)}
    assert 1 <= len(pids) <= 2


def test_tls_through_gunicorns_settings(gunicorn: Any, tmp_path: Path) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    args = ("-w", "1", "--certfile", str(tmp_path / "cert.pem"), "--keyfile", str(tmp_path / "key.pem"))
    server = start(tmp_path, *args, ready=False)
    try:
        deadline = time.monotonic() + HANG_GUARD
        while True:
            try:
                conn = http.client.HTTPSConnection("127.0.0.1", server.port, timeout=HANG_GUARD, context=ctx)
                conn.request("GET", "/secure")
                response = conn.getresponse()
                break
            except (ConnectionRefusedError, ConnectionResetError, ssl.SSLError):
                assert time.monotonic() < deadline, server.log.read_text()
                time.sleep(0.05)
        assert response.status == 200
        assert response.read().startswith(b"/secure https ")
        conn.close()
    finally:
        server.proc.send_signal(signal.SIGQUIT)
        server.proc.wait(HANG_GUARD)
