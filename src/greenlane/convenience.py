"""eventlet's convenience functions: ``listen``, ``connect``, ``serve``, ``wrap_ssl``.

``serve`` runs a handler per connection in a ``GreenPool`` and keeps
eventlet's contract: the connection is closed when its handler returns; a
handler that raises ``StopServe`` stops the server quietly, and any other
exception stops it too, re-raised from ``serve`` (so nothing is lost). A
handler that wants to survive its own errors catches them.
"""

from __future__ import annotations

import errno
import logging
import warnings
from collections.abc import Callable
from typing import Any, Final

from greenlet import getcurrent as _raw_current

from ._core import get_hub
from .green import socket as _gsocket
from .green import ssl as _gssl
from .greenpool import GreenPool
from .greenthread import GreenletExit, GreenThread

__all__ = [
    "ReusePortUnavailableWarning",
    "ReuseRandomPortWarning",
    "StopServe",
    "connect",
    "listen",
    "serve",
    "wrap_ssl",
]

log = logging.getLogger("greenlane.convenience")

# eventlet's default backlog for listen().
DEFAULT_BACKLOG: Final = 50


class StopServe(Exception):
    """Raise from a ``serve`` handler to make ``serve`` return."""


class ReuseRandomPortWarning(Warning):
    """``listen`` on port 0 with ``reuse_port=True``: the kernel may give another socket the same port."""


class ReusePortUnavailableWarning(Warning):
    """``SO_REUSEPORT`` is defined but the kernel refused it; the socket listens without it."""


def listen(
    addr: Any,
    family: int = _gsocket.AF_INET,
    backlog: int = DEFAULT_BACKLOG,
    reuse_addr: bool = True,
    reuse_port: bool | None = None,
) -> _gsocket.socket:
    """A green socket bound to ``addr`` and listening, with eventlet's socket options.

    ``reuse_port=None`` means on where the platform has it, except on port 0:
    with ``SO_REUSEPORT`` the kernel may hand a random port to two sockets at
    once, so it is set there only when asked for, with a
    ``ReuseRandomPortWarning``. ``True`` where the platform has no
    ``SO_REUSEPORT`` raises ``ValueError``; a kernel that refuses it
    (``EINVAL``, ``ENOPROTOOPT``) gets a ``ReusePortUnavailableWarning``.
    Unix sockets take neither option.
    """
    sock = _gsocket.socket(family, _gsocket.SOCK_STREAM)
    try:
        if family != getattr(_gsocket, "AF_UNIX", None):
            if reuse_addr:
                sock.setsockopt(_gsocket.SOL_SOCKET, _gsocket.SO_REUSEADDR, 1)
            random_port = family in (_gsocket.AF_INET, _gsocket.AF_INET6) and addr[1] == 0
            if random_port and reuse_port:
                warnings.warn(
                    f"listen({addr!r}, reuse_port=True): with SO_REUSEPORT on a random port the kernel may "
                    "give the same port to another socket",
                    ReuseRandomPortWarning,
                    stacklevel=2,
                )
            if reuse_port or (reuse_port is None and not random_port):
                _set_reuse_port(sock, explicit=bool(reuse_port))
        sock.bind(addr)
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


def _set_reuse_port(sock: _gsocket.socket, explicit: bool) -> None:
    option = getattr(_gsocket, "SO_REUSEPORT", None)
    if option is None:
        if explicit:
            raise ValueError("reuse_port=True, but this platform has no SO_REUSEPORT")
        return
    try:
        sock.setsockopt(_gsocket.SOL_SOCKET, option, 1)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOPROTOOPT):
            raise
        warnings.warn(
            f"SO_REUSEPORT is defined but the kernel refused it ({exc}); listening without it",
            ReusePortUnavailableWarning,
            stacklevel=3,
        )


def connect(addr: Any, family: int = _gsocket.AF_INET, bind: Any = None) -> _gsocket.socket:
    """A green socket connected to ``addr`` (bound to ``bind`` first, if given)."""
    sock = _gsocket.socket(family, _gsocket.SOCK_STREAM)
    try:
        if bind is not None:
            sock.bind(bind)
        sock.connect(addr)
    except BaseException:
        sock.close()
        raise
    return sock


def serve(
    sock: _gsocket.socket,
    handle: Callable[[_gsocket.socket, Any], object],
    concurrency: int = 1000,
) -> None:
    """Accept connections on ``sock`` forever, running ``handle(conn, address)`` in a green thread each.

    At most ``concurrency`` handlers run at once (further connections wait
    in the listen backlog). Returns when a handler raises ``StopServe``;
    re-raises any other exception a handler lets out (the server stops).
    Kill the green thread running ``serve`` to stop it from outside.
    """
    pool = GreenPool(concurrency)
    server = _raw_current()
    hub = get_hub()
    stopped = False

    def finished(gt: GreenThread[Any], conn: _gsocket.socket) -> None:
        nonlocal stopped
        try:
            gt.wait()
        except GreenletExit:
            pass  # a handler killed from outside ends quietly, as in eventlet
        except Exception as exc:
            if stopped:
                log.error("serve handler failed after the server stopped", exc_info=True)
            else:
                stopped = True
                hub.throw(server, exc)  # wakes serve() out of accept() with it
        finally:
            conn.close()

    try:
        while True:
            conn, address = sock.accept()
            try:
                # Parks while the pool is full; stopped there, no handler owns conn yet.
                pool.spawn(handle, conn, address).link(finished, conn)
            except BaseException:
                conn.close()
                raise
            del conn
    except StopServe:
        return
    finally:
        stopped = True


def wrap_ssl(  # noqa: PLR0917 - eventlet's signature
    sock: _gsocket.socket,
    keyfile: str | None = None,
    certfile: str | None = None,
    server_side: bool = False,
    cert_reqs: int | None = None,
    ssl_version: int | None = None,
    ca_certs: str | None = None,
    do_handshake_on_connect: bool = True,
    suppress_ragged_eofs: bool = True,
    ciphers: str | None = None,
    server_hostname: str | None = None,
) -> _gssl.SSLSocket:
    """A green TLS socket over ``sock`` (eventlet's and the old ``ssl.wrap_socket``'s arguments).

    Unlike the old ``ssl.wrap_socket``, a client verifies the server by
    default (``cert_reqs=CERT_REQUIRED`` and host-name checking when
    ``server_hostname`` is given); pass ``cert_reqs=ssl.CERT_NONE`` to opt out.
    """
    if ssl_version is None:
        ssl_version = _gssl.PROTOCOL_TLS_SERVER if server_side else _gssl.PROTOCOL_TLS_CLIENT
    context = _gssl.SSLContext(ssl_version)
    if not server_side:
        context.check_hostname = server_hostname is not None and cert_reqs != _gssl.CERT_NONE
    if cert_reqs is not None:
        context.verify_mode = _gssl.VerifyMode(cert_reqs)
    if ca_certs:
        context.load_verify_locations(ca_certs)
    elif context.verify_mode != _gssl.CERT_NONE and not server_side:
        context.load_default_certs()
    if certfile:
        context.load_cert_chain(certfile, keyfile)
    if ciphers:
        context.set_ciphers(ciphers)
    return context.wrap_socket(  # type: ignore[return-value]
        sock,
        server_side=server_side,
        do_handshake_on_connect=do_handshake_on_connect,
        suppress_ragged_eofs=suppress_ragged_eofs,
        server_hostname=server_hostname,
    )
