"""A Python console inside a running service, over a socket: eventlet's ``backdoor``.

Start one with ``serve_backdoor()`` and connect with ``nc -U PATH`` (the path
is ``server.address``, also logged at INFO), or ``telnet``/``nc HOST PORT``
for a TCP one: you get a ``>>>`` prompt running *in* the service's process
and hub: inspect objects, call ``greenlane.debug.print_greenthreads()``, read
``greenlane.get_hub().statistics()``. Each connection is one green thread,
so the service keeps running while you type, and code you enter that waits
(``greenlane.sleep``, a green socket call) parks only your console.

**Security.** Whoever can connect can run any code with the process's
rights: read its memory and secrets, open files, kill it. So the default is
the one no other user can reach: ``serve_backdoor()`` with no address
listens on a Unix socket (mode 0600) in a directory of its own made with
``tempfile.mkdtemp`` (mode 0700, removed by ``stop()``). A TCP address is
used only when given; a loopback port is reachable by every local user and
every container sharing the network namespace, so a TCP backdoor asks each
client for a token first (generated per server, read it from
``server.token``; ``token=False`` opts out, with a warning), and a
non-loopback host is logged as a warning. A Unix path you give must not
exist yet: a stale socket file, a symbolic link or any other file there is
an error naming it (the path is never followed, never chmod-ed: the socket
is created with the right mode and checked after ``bind``). Never expose a
backdoor to a network you do not fully trust; reach it over SSH.

**Bounded input.** A line longer than ``MAX_LINE`` characters (64 Ki), a
statement whose lines add up to more than ``MAX_STATEMENT`` (1 Mi), or a
token line longer than ``MAX_TOKEN_LINE`` ends the session with a message:
a client that sends bytes without a newline costs at most that much memory.

``backdoor_server(sock)`` and ``backdoor((conn, addr))`` (eventlet's API)
serve the socket they are given as it is: who can reach it is the caller's
choice; they ask for a token only when given one (``token=``).

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
import hmac
import ipaddress
import logging
import os
import secrets
import shutil
import stat
import sys
import tempfile
from collections.abc import Mapping
from typing import Any, Final, TextIO

from greenlet import getcurrent as _raw_current
from greenlet import greenlet

from .green import socket as _gsocket
from .greenthread import GreenletExit, GreenThread, spawn
from .timeout import Timeout

__all__ = ["MAX_LINE", "MAX_STATEMENT", "BackdoorServer", "backdoor", "backdoor_server", "serve_backdoor"]

log = logging.getLogger("greenlane.backdoor")

# A Unix backdoor socket: connectable by its owner only.
UNIX_SOCKET_MODE: Final = 0o600
# The name of the socket in the private directory of serve_backdoor()'s default.
DEFAULT_SOCKET_NAME: Final = "backdoor.sock"
LISTEN_BACKLOG: Final = 5
# Input bounds, in characters: one line, one statement (a pasted block), the token line.
MAX_LINE: Final = 64 * 1024
MAX_STATEMENT: Final = 1024 * 1024
MAX_TOKEN_LINE: Final = 256
# How long a TCP client may take to send its token before it is hung up on.
TOKEN_TIMEOUT: Final = 30.0


class _TooLong(Exception):
    """The client sent more than a bound allows; the session ends with this message."""


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
        """One line from the connection; ``EOFError`` at its end, ``_TooLong`` past a bound."""
        self.write(prompt)
        line = _read_line(self.rfile, MAX_LINE, "line")
        # ``buffer``: the lines of the statement being continued (code.InteractiveConsole's).
        if sum(map(len, self.buffer)) + len(line) > MAX_STATEMENT:
            raise _TooLong(f"statement longer than {MAX_STATEMENT} characters")
        return line

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


def _read_line(rfile: TextIO, limit: int, what: str) -> str:
    """One line of at most ``limit`` characters, without its end; ``EOFError`` at the end of input."""
    line = rfile.readline(limit + 1)  # reads (and buffers) no more than that
    if not line:
        raise EOFError
    stripped = line.rstrip("\r\n")
    if len(stripped) > limit:
        raise _TooLong(f"{what} longer than {limit} characters")
    return stripped


def _check_token(rfile: TextIO, wfile: TextIO, token: str) -> bool:
    """Ask for the token; True if the client sent it (compared in constant time)."""
    wfile.write("token: ")
    wfile.flush()
    with Timeout(TOKEN_TIMEOUT, False):
        try:
            given = _read_line(rfile, MAX_TOKEN_LINE, "token line")
        except EOFError:
            return False
        if hmac.compare_digest(given.encode(), token.encode()):
            return True
    wfile.write("wrong token\n")  # also after TOKEN_TIMEOUT seconds of silence
    wfile.flush()
    return False


def _banner() -> str:
    # Three lines laid out as eventlet's (the stdlib console's): clients that
    # read the banner up to the first prompt expect Python's version on the
    # first line and "InteractiveConsole" on the third.
    return (
        f"Python {sys.version.split()[0]} on {sys.platform}, greenlane backdoor in process {os.getpid()}\n"
        'Type "help", "copyright", "credits" or "license" for more information.\n'
        "(InteractiveConsole: exit(), quit() or Ctrl-D ends this session; the process keeps running.)"
    )


def _session(conn: _gsocket.socket, namespace: dict[str, Any], token: str | None) -> None:
    rfile: TextIO = conn.makefile("r", encoding="utf-8", errors="replace")
    wfile: TextIO = conn.makefile("w", encoding="utf-8", errors="replace")
    me = _raw_current()
    try:
        if token is not None and not _check_token(rfile, wfile, token):
            return
        _route(me, wfile)
        _Console(rfile, wfile, namespace).interact(banner=_banner(), exitmsg="")
    except (_Leave, EOFError):
        pass
    except _TooLong as exc:
        log.warning("backdoor session ended: %s", exc)
        try:
            wfile.write(f"\n{exc}: connection closed\n")
            wfile.flush()
        except OSError:
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
    conn_info: tuple[_gsocket.socket, Any],
    locals: Mapping[str, Any] | None = None,
    *,
    token: str | None = None,
) -> GreenThread[None]:
    """Run a console on one connected socket in a new green thread; returns it at once.

    ``conn_info`` is ``(conn, address)`` as ``accept()`` returns it. The console
    sees a fresh namespace holding a copy of ``locals``. With ``token``, the
    client must send it as its first line. The connection is closed when the
    session ends (end of input, ``exit()``, a bound exceeded, or a kill).
    """
    conn, _address = conn_info
    _check_token_arg(token)
    namespace: dict[str, Any] = {"__name__": "__console__", "__doc__": None}
    namespace.update(locals or {})
    namespace.update(exit=_Quitter("exit"), quit=_Quitter("quit"))
    session = spawn(_session, conn, namespace, token)
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


def _check_token_arg(token: object) -> None:
    if token is not None and (not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LINE):
        raise ValueError(f"a backdoor token must be a non-empty str of at most {MAX_TOKEN_LINE} characters")


def backdoor_server(
    sock: _gsocket.socket, locals: Mapping[str, Any] | None = None, *, token: str | None = None
) -> None:
    """Accept connections on the listening green socket ``sock`` forever, a console each.

    Blocks the calling green thread (spawn it); kill that green thread to
    stop. On the way out ``sock`` is closed and the open sessions are ended.
    The socket is served as it is: who can connect is the caller's choice
    (with ``token``, each client must send it first).
    """
    _check_token_arg(token)
    _serve(_check_green(sock), locals, set(), token)


def _serve(
    sock: _gsocket.socket,
    locals: Mapping[str, Any] | None,
    sessions: set[GreenThread[None]],
    token: str | None = None,
) -> None:
    log.info("backdoor listening on %s", _describe(sock.getsockname()))
    try:
        while True:
            conn, address = sock.accept()
            session = backdoor((conn, address), locals, token=token)
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
    """A backdoor started by ``serve_backdoor``: where it listens, its token, its sessions, ``stop()``."""

    def __init__(
        self,
        sock: _gsocket.socket,
        locals: Mapping[str, Any] | None,
        token: str | None = None,
        unix: tuple[str, int, int] | None = None,
        private_dir: str | None = None,
    ) -> None:
        self.address: Any = sock.getsockname()
        #: What a client must send first (a TCP backdoor's, by default); None: nothing.
        self.token = token
        self._unix = unix  # (path, device, inode) of the socket file we made
        self._private_dir = private_dir
        self._sessions: set[GreenThread[None]] = set()
        self._server = spawn(_serve, sock, locals, self._sessions, token)
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
        """Close the listening socket, end every open session, remove the socket file (idempotent)."""
        if not self._server.dead:
            self._server.kill()
            _wait_quietly(self._server)
        if self._unix is not None:
            _remove_our_socket(*self._unix)
            self._unix = None
        if self._private_dir is not None:
            shutil.rmtree(self._private_dir, ignore_errors=True)
            self._private_dir = None

    def __enter__(self) -> BackdoorServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        token = " token=required" if self.token is not None else ""
        return f"<BackdoorServer {_describe(self.address)}{token} sessions={self.sessions} {state}>"


def _remove_our_socket(path: str, device: int, inode: int) -> None:
    """Unlink ``path`` only if it still is the socket we bound (never someone else's file)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISSOCK(st.st_mode) and (st.st_dev, st.st_ino) == (device, inode):
        os.unlink(path)


def _refuse_existing(path: str) -> None:
    """A clear error if anything is at ``path`` already (a link is never followed)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        what = f"is a symbolic link (to {os.readlink(path)!r}); refusing to follow it"
    elif stat.S_ISSOCK(st.st_mode):
        probe = _gsocket.socket(_gsocket.AF_UNIX, _gsocket.SOCK_STREAM)
        try:
            probe.connect(path)
        except OSError:
            what = "is a stale socket file (nothing answers on it): remove it if it is yours"
        else:
            what = "is a socket something is listening on (another backdoor?)"
        finally:
            probe.close()
    else:
        what = "exists and is not a socket"
    raise FileExistsError(errno.EEXIST, f"backdoor socket path {path!r} {what}", path)


def _bind_unix(path: str) -> tuple[_gsocket.socket, tuple[str, int, int]]:
    """A listening Unix socket at ``path``, created with mode 0600 and checked after ``bind``."""
    _refuse_existing(path)
    sock = _gsocket.socket(_gsocket.AF_UNIX, _gsocket.SOCK_STREAM)
    try:
        # The socket file takes its mode from the umask at bind(): made 0600 from the
        # start, nothing is ever chmod-ed (a chmod by path could follow a link planted
        # between bind and chmod). The umask is process-wide, changed for this one call.
        old_umask = os.umask(0o777 & ~UNIX_SOCKET_MODE)
        try:
            sock.bind(path)
        finally:
            os.umask(old_umask)
        st = os.lstat(path)
        if not stat.S_ISSOCK(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o077:
            raise PermissionError(
                errno.EPERM, f"backdoor socket {path!r} is not a socket of ours with mode 0600", path
            )
        sock.listen(LISTEN_BACKLOG)
    except BaseException:
        sock.close()
        raise
    return sock, (path, st.st_dev, st.st_ino)


def serve_backdoor(
    addr: tuple[str, int] | str | None = None,
    locals: Mapping[str, Any] | None = None,
    *,
    token: str | bool | None = None,
) -> BackdoorServer:
    """Listen on ``addr`` and serve consoles in the background; returns the running server.

    ``addr``:

    - ``None`` (the default): a Unix socket (mode 0600) in a new private
      directory (mode 0700); ``server.address`` is its path (``nc -U PATH``).
      ``stop()`` removes both.
    - a path: a Unix socket there (mode 0600, removed by ``stop()``); the path
      must not exist (a stale socket, a symbolic link or any file there is a
      ``FileExistsError`` naming it).
    - ``(host, port)``: TCP. Every local user can reach a loopback port, so
      each client must first send the token: ``token=None`` generates one
      (``server.token``, also logged at INFO), a ``str`` is used as given,
      ``False`` asks for none (logged as a warning). A non-loopback host is
      logged as a warning.

    With a Unix socket, ``token=None`` and ``False`` ask for no token (the
    socket's mode already keeps other users out); a ``str`` is required.
    """
    if token is True:
        raise ValueError("token=True: pass None to have one generated, or the token itself")
    if token is not False:
        _check_token_arg(token)
    private_dir = None
    if addr is None or isinstance(addr, (str, bytes, os.PathLike)):
        if addr is None:
            private_dir = tempfile.mkdtemp(prefix="greenlane-backdoor-")  # mode 0700, ours
            path = os.path.join(private_dir, DEFAULT_SOCKET_NAME)
        else:
            path = os.fsdecode(addr)
        try:
            sock, unix = _bind_unix(path)
        except BaseException:
            if private_dir is not None:
                shutil.rmtree(private_dir, ignore_errors=True)
            raise
        server = BackdoorServer(sock, locals, token or None, unix, private_dir)
        return server
    host, port = addr
    if not _is_loopback(host):
        log.warning(
            "backdoor listening on %s, not loopback: anyone who can connect can run any code "
            "in this process", _describe((host, port)),
        )
    if token is None:
        token = secrets.token_urlsafe(24)
    family = _gsocket.AF_INET6 if ":" in host else _gsocket.AF_INET
    sock = _gsocket.socket(family, _gsocket.SOCK_STREAM)
    try:
        sock.setsockopt(_gsocket.SOL_SOCKET, _gsocket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
    except BaseException:
        sock.close()
        raise
    server = BackdoorServer(sock, locals, token or None)
    if server.token is None:
        log.warning(
            "backdoor on %s without a token: every local user (and container sharing the network) "
            "can run any code in this process", _describe(server.address),
        )
    else:
        log.info("backdoor on %s: send this token first: %s", _describe(server.address), server.token)
    return server
