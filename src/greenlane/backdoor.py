"""A Python console inside a running service, over a socket: eventlet's ``backdoor``.

Connect with ``nc 127.0.0.1 PORT`` (or ``nc -U PATH``, ``telnet``) and you
get a ``>>>`` prompt running *in* the service's process and hub: inspect
objects, call ``greenlane.debug.print_greenthreads()``, read
``greenlane.get_hub().statistics()``. Each connection is one green thread,
so the service keeps running while you type, and code you enter that waits
(``greenlane.sleep``, a green socket call) parks only your console.

**Security.** Whoever can connect can run any code with the process's
rights: read its memory and secrets, open files, kill it. There is no
authentication. ``serve_backdoor`` therefore binds to loopback (``127.0.0.1``)
by default, or to a Unix socket made readable and writable by the owner only
(mode 0600); a wider address is used only when given explicitly, and is
logged as a warning. Never expose it to a network you do not fully trust;
prefer a Unix socket, or an SSH tunnel to a loopback port.

How output reaches the right client: while any console is open,
``sys.stdout`` and ``sys.stderr`` are routing proxies that send what a
console's green thread prints to its connection and everything else to the
streams they replaced (restored when the last console closes). ``exit()`` and
``quit()`` end the session (they would close the process's stdin otherwise),
as does end of input (Ctrl-D). Stopping a server ends its open sessions too
(eventlet leaves them running).
"""

from __future__ import annotations

import code
import errno
import ipaddress
import logging
import os
import sys
from collections.abc import Mapping
from typing import Any, Final, TextIO

from greenlet import getcurrent as _raw_current
from greenlet import greenlet

from .green import socket as _gsocket
from .greenthread import GreenletExit, GreenThread, spawn

__all__ = ["BackdoorServer", "backdoor", "backdoor_server", "serve_backdoor"]

log = logging.getLogger("greenlane.backdoor")

# What serve_backdoor binds to when not told: loopback only, any free port.
DEFAULT_ADDRESS: Final = ("127.0.0.1", 0)
# A Unix backdoor socket: connectable by its owner only.
UNIX_SOCKET_MODE: Final = 0o600
LISTEN_BACKLOG: Final = 5


class _Leave(SystemExit):
    """``exit()``/``quit()`` typed in a console: end that session, nothing else."""


class _Quitter:
    """The console's ``exit``/``quit``: unlike the site module's, leaves the process's stdin open."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, code: object = None) -> None:
        raise _Leave(code)

    def __repr__(self) -> str:
        return f"Use {self.name}() or Ctrl-D (end of input) to leave the backdoor"


class _RoutedStream:
    """Stands in for ``sys.stdout``/``sys.stderr``: a console's writes go to its connection."""

    def __init__(self, fallback: TextIO | None) -> None:
        self.fallback = fallback  # None in a process started without it: print() is then a no-op
        self.routes: dict[greenlet, TextIO] = {}

    def _target(self) -> TextIO | None:
        return self.routes.get(_raw_current(), self.fallback)

    def write(self, text: str) -> int:
        """Write to the calling green thread's console, or to the replaced stream (if any)."""
        target = self._target()
        return len(text) if target is None else target.write(text)

    def flush(self) -> None:
        """Flush the calling green thread's console, or the replaced stream (if any)."""
        target = self._target()
        if target is not None:
            target.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target(), name)

    def __repr__(self) -> str:
        return f"<RoutedStream consoles={len(self.routes)} fallback={self.fallback!r}>"


def _route(glet: greenlet, file: TextIO) -> None:
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if not isinstance(stream, _RoutedStream):
            stream = _RoutedStream(stream)
            setattr(sys, name, stream)
        stream.routes[glet] = file


def _unroute(glet: greenlet) -> None:
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if isinstance(stream, _RoutedStream):
            stream.routes.pop(glet, None)
            if not stream.routes:
                setattr(sys, name, stream.fallback)


class _Console(code.InteractiveConsole):
    """An interactive console reading and writing one connection.

    Two text files over the one socket: a single read-write ``TextIOWrapper``
    drops the lines it has read ahead whenever it is written to (it assumes a
    seekable file), which would lose pasted multi-line input.
    """

    def __init__(self, rfile: TextIO, wfile: TextIO, namespace: dict[str, Any]) -> None:
        super().__init__(namespace, filename="<backdoor>")
        self.rfile = rfile
        self.wfile = wfile

    def raw_input(self, prompt: str = "") -> str:
        """One line from the connection; ``EOFError`` at its end."""
        self.write(prompt)
        line = self.rfile.readline()
        if not line:
            raise EOFError
        return line.rstrip("\r\n")

    def write(self, data: str) -> None:
        """Tracebacks, banner and prompts go to the connection."""
        self.wfile.write(data)
        self.wfile.flush()

    def runcode(self, code: Any) -> None:
        """Run one statement; a kill of this green thread or ``exit()`` ends the session."""
        try:
            exec(code, self.locals)
        except (GreenletExit, SystemExit):
            raise
        except BaseException:  # whatever the user's code raised, Timeout and KeyboardInterrupt included
            self.showtraceback()


def _banner() -> str:
    # Three lines laid out as eventlet's (the stdlib console's): clients that
    # read the banner up to the first prompt expect Python's version on the
    # first line and "InteractiveConsole" on the third.
    return (
        f"Python {sys.version.split()[0]} on {sys.platform}, greenlane backdoor in process {os.getpid()}\n"
        'Type "help", "copyright", "credits" or "license" for more information.\n'
        "(InteractiveConsole: exit(), quit() or Ctrl-D ends this session; the process keeps running.)"
    )


def _session(conn: _gsocket.socket, namespace: dict[str, Any]) -> None:
    rfile: TextIO = conn.makefile("r", encoding="utf-8", errors="replace")
    wfile: TextIO = conn.makefile("w", encoding="utf-8", errors="replace")
    me = _raw_current()
    _route(me, wfile)
    try:
        _Console(rfile, wfile, namespace).interact(banner=_banner(), exitmsg="")
    except (_Leave, EOFError):
        pass
    except OSError as exc:  # the client went away mid-write
        if exc.errno not in (errno.EPIPE, errno.ECONNRESET, None):
            log.warning("backdoor session ended by %r", exc)
    finally:
        _unroute(me)
        for file in (rfile, wfile):
            try:
                file.close()
            except OSError:  # flushing to a client that is gone
                pass
        conn.close()


def backdoor(
    conn_info: tuple[_gsocket.socket, Any], locals: Mapping[str, Any] | None = None
) -> GreenThread[None]:
    """Run a console on one connected socket in a new green thread; returns it at once.

    ``conn_info`` is ``(conn, address)`` as ``accept()`` returns it. The console
    sees a fresh namespace holding a copy of ``locals``. The connection is
    closed when the session ends (end of input, ``exit()``, or a kill).
    """
    conn, _address = conn_info
    namespace: dict[str, Any] = {"__name__": "__console__", "__doc__": None}
    namespace.update(locals or {})
    namespace.update(exit=_Quitter("exit"), quit=_Quitter("quit"))
    session = spawn(_session, conn, namespace)
    session.link(_close, conn)  # also when killed before it started
    return session


def _close(_ended: GreenThread[None], sock: _gsocket.socket) -> None:
    sock.close()


def _check_green(sock: object) -> _gsocket.socket:
    if not isinstance(sock, _gsocket.socket):
        raise TypeError(
            f"a backdoor needs a green socket (greenlane.listen(), greenlane.green.socket), not {sock!r}: "
            "a stdlib socket would block the whole hub in accept()"
        )
    return sock


def backdoor_server(sock: _gsocket.socket, locals: Mapping[str, Any] | None = None) -> None:
    """Accept connections on the listening green socket ``sock`` forever, a console each.

    Blocks the calling green thread (spawn it); kill that green thread to
    stop. On the way out ``sock`` is closed and the open sessions are ended.
    """
    _serve(_check_green(sock), locals, set())


def _serve(
    sock: _gsocket.socket, locals: Mapping[str, Any] | None, sessions: set[GreenThread[None]]
) -> None:
    log.info("backdoor listening on %s", _describe(sock.getsockname()))
    try:
        while True:
            conn, address = sock.accept()
            session = backdoor((conn, address), locals)
            sessions.add(session)
            session.link(sessions.discard)
            del conn
    finally:
        sock.close()
        ending = list(sessions)
        for session in ending:
            session.kill()
        for session in ending:
            _wait_quietly(session)


def _wait_quietly(gt: GreenThread[None]) -> None:
    """Wait for ``gt`` to end; a kill's ``GreenletExit`` is the expected outcome."""
    try:
        gt.wait()
    except GreenletExit:
        pass


def _describe(address: Any) -> str:
    if isinstance(address, tuple):
        host, port = address[0], address[1]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return str(address)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class BackdoorServer:
    """A backdoor started by ``serve_backdoor``: where it listens, its sessions, and ``stop()``."""

    def __init__(self, sock: _gsocket.socket, locals: Mapping[str, Any] | None) -> None:
        self.address: Any = sock.getsockname()
        self._path = self.address if sock.family == getattr(_gsocket, "AF_UNIX", None) else None
        self._sessions: set[GreenThread[None]] = set()
        self._server = spawn(_serve, sock, locals, self._sessions)
        self._server.link(_close, sock)  # also when stopped before it started

    @property
    def sessions(self) -> int:
        """Consoles open now."""
        return len(self._sessions)

    @property
    def running(self) -> bool:
        """True until ``stop()``."""
        return not self._server.dead

    def stop(self) -> None:
        """Close the listening socket and end every open session (idempotent)."""
        if not self._server.dead:
            self._server.kill()
            _wait_quietly(self._server)
        if self._path:
            try:
                os.unlink(self._path)
            except FileNotFoundError:
                pass
            self._path = None

    def __enter__(self) -> BackdoorServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<BackdoorServer {_describe(self.address)} sessions={self.sessions} {state}>"


def serve_backdoor(
    addr: tuple[str, int] | str = DEFAULT_ADDRESS, locals: Mapping[str, Any] | None = None
) -> BackdoorServer:
    """Listen on ``addr`` and serve consoles in the background; returns the running server.

    ``addr`` is ``(host, port)`` (default ``("127.0.0.1", 0)``: loopback, a
    free port; read it from ``.address``) or a Unix socket path (created with
    mode 0600, removed by ``stop()``). A non-loopback host is accepted, since
    it was asked for, and logged as a warning: anyone who can connect runs
    code as this process.
    """
    if isinstance(addr, (str, bytes, os.PathLike)):
        path = os.fsdecode(addr)
        sock = _gsocket.socket(_gsocket.AF_UNIX, _gsocket.SOCK_STREAM)
        try:
            sock.bind(path)
            os.chmod(path, UNIX_SOCKET_MODE)
            sock.listen(LISTEN_BACKLOG)
        except BaseException:
            sock.close()
            raise
    else:
        host, port = addr
        if not _is_loopback(host):
            log.warning(
                "backdoor listening on %s, not loopback: anyone who can connect can run any code "
                "in this process", _describe((host, port)),
            )
        family = _gsocket.AF_INET6 if ":" in host else _gsocket.AF_INET
        sock = _gsocket.socket(family, _gsocket.SOCK_STREAM)
        try:
            sock.setsockopt(_gsocket.SOL_SOCKET, _gsocket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(LISTEN_BACKLOG)
        except BaseException:
            sock.close()
            raise
    return BackdoorServer(sock, locals)
