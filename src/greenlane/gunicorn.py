"""A gunicorn worker class on greenlane: ``gunicorn -k greenlane.gunicorn.GreenWorker app:app``.

Multi-core serving is gunicorn's pre-fork model: each worker process runs one
greenlane hub, patches the stdlib (``greenlane.monkey_patch()``, as gunicorn's
gevent and eventlet workers do, so the application's blocking libraries
cooperate) and serves its share of the listening sockets with
``greenlane.wsgi.server``: up to ``worker_connections`` connections at once,
in one ``GreenPool`` shared by all listeners. HTTP parsing is greenlane.wsgi's
(llhttp, strict), not gunicorn's.

gunicorn's settings, mapped:

- ``timeout``: the worker's main green thread touches the heartbeat file at
  least every ``timeout / 2`` seconds (at most every second), so the arbiter
  kills a worker only when its hub is blocked (a green thread that never
  yields), which is what the timeout is for.
- ``graceful_timeout``: on SIGTERM the worker stops accepting, closes idle
  keep-alive connections and lets in-flight requests finish for that long,
  then kills what is left. SIGQUIT/SIGINT exit at once.
- ``keepalive``: the idle timeout between requests on a connection
  (0 turns keep-alive off).
- TLS (``certfile``, ``keyfile``, ...): gunicorn's own ``ssl_context(cfg)``
  wraps the listening socket; handshakes run in each connection's green thread.
- ``max_requests`` (with its jitter): after that many requests the worker
  stops gracefully and the arbiter starts a fresh one.
- ``accesslog``: when set, greenlane.wsgi's access lines (eventlet's format)
  go to gunicorn's logger; gunicorn's ``access_log_format`` is not applied.
"""

from __future__ import annotations

import os
import socket
import sys
from typing import Any

from gunicorn.workers.base import Worker

__all__ = ["GreenWorker"]

# The heartbeat interval cap: gunicorn's own workers notify about once a second.
HEARTBEAT_MAX = 1.0


class GreenWorker(Worker):  # type: ignore[misc]  # gunicorn ships no type hints
    """gunicorn worker: one greenlane hub per process, ``greenlane.wsgi`` serving the app."""

    def init_process(self) -> None:
        """Patch the stdlib for this worker process (after the fork), then run."""
        from .patcher import monkey_patch

        monkey_patch()
        super().init_process()

    def _listeners(self) -> list[Any]:
        from gunicorn.sock import ssl_context

        from .green import socket as gsocket

        listeners = []
        for wrapper in self.sockets:
            sock = wrapper.sock
            green = gsocket.socket(sock.family, socket.SOCK_STREAM, fileno=sock.detach())
            if self.cfg.is_ssl:
                green = ssl_context(self.cfg).wrap_socket(
                    green, server_side=True, do_handshake_on_connect=False
                )
            listeners.append(green)
        return listeners

    def run(self) -> None:
        """Serve every listener until told to stop; graceful within ``graceful_timeout``."""
        from gunicorn import __version__ as gunicorn_version

        from . import greenthread, wsgi
        from .greenpool import GreenPool

        pool = GreenPool(self.cfg.worker_connections)
        keepalive: float | bool = self.cfg.keepalive if self.cfg.keepalive > 0 else False
        environ = {"SERVER_SOFTWARE": f"gunicorn/{gunicorn_version} greenlane", "wsgi.multiprocess": True}
        app = self.wsgi
        if self.max_requests < sys.maxsize:
            app = self._counting(app)
        servers = [
            greenthread.spawn(
                wsgi.server,
                listener,
                app,
                log=self.log,
                environ=environ,
                custom_pool=pool,
                keepalive=keepalive,
                log_output=bool(self.cfg.accesslog),
                debug=False,
                stop_timeout=self.cfg.graceful_timeout,
            )
            for listener in self._listeners()
        ]
        interval = min(HEARTBEAT_MAX, max(self.timeout / 2.0, 0.05))
        # SIGQUIT/SIGINT raise SystemExit here (handle_quit): out at once, no graceful wait.
        while self.alive:
            self.notify()
            if self.ppid != os.getppid():
                self.log.info("Parent changed, shutting down: %s", self)
                break
            greenthread.sleep(interval)
        # SIGTERM: stop accepting; each server lets its in-flight requests finish
        # (stop_timeout), and the heartbeat goes on meanwhile so the arbiter waits for us.
        stopper = greenthread.spawn(self._stop, servers)
        while not stopper.dead:
            self.notify()
            greenthread.sleep(interval)

    def _counting(self, app: Any) -> Any:
        """``app``, counting requests; at ``max_requests`` the worker winds down (gunicorn's rule)."""

        def counted(environ: dict[str, Any], start_response: Any) -> Any:
            self.nr += 1
            if self.nr == self.max_requests:  # the heartbeat loop notices within a second
                self.log.info("Autorestarting worker after current request.")
                self.alive = False
            return app(environ, start_response)

        return counted

    def _stop(self, servers: list[Any]) -> None:
        for server in servers:
            server.kill()
        for server in servers:
            try:
                server.wait()
            except BaseException:  # GreenletExit of the kill, or what the server died of
                pass

    def handle_quit(self, sig: int, frame: Any) -> None:
        """SIGQUIT/SIGINT: exit now (gunicorn's immediate shutdown), from a green thread."""
        from . import greenthread

        greenthread.spawn_n(super().handle_quit, sig, frame)

    def handle_usr1(self, sig: int, frame: Any) -> None:
        """SIGUSR1: reopen the log files, from a green thread."""
        from . import greenthread

        greenthread.spawn_n(super().handle_usr1, sig, frame)
