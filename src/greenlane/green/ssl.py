"""Cooperative ``ssl``: TLS sockets whose handshakes, reads and writes park the green thread.

A green ``SSLSocket`` is the stdlib's ``SSLSocket`` over a green socket. The
fd underneath is non-blocking, so the ``_ssl`` module never waits itself: it
raises ``SSLWantReadError``/``SSLWantWriteError`` and this class parks on the
hub until the fd is ready, then retries, within the socket's timeout. TLS may
need to write while reading (renegotiation) or read while writing, so each
retry waits for what OpenSSL asked for, not for what the caller is doing.

``SSLContext.wrap_socket`` of a green ``SSLContext`` makes green TLS sockets
from any socket (a stdlib one is taken over by fd). ``create_default_context``
gives a green context with the stdlib's defaults.
"""

from __future__ import annotations

import _ssl
import ssl as _std
import warnings
from typing import Any, Final

from .._core import READ, WRITE
from . import socket as _gsocket

# SSLSocket is not replaced in the stdlib module: its _create() names the stdlib class
# in a super() call, and a green context makes green sockets anyway (sslsocket_class).
__implements__: Final = ("SSLContext", "create_default_context")

_std_create_default_context: Final = _std.create_default_context  # before patching replaces it
_WantRead: Final = _std.SSLWantReadError
_WantWrite: Final = _std.SSLWantWriteError

_HANDSHAKE: Final = "ssl: handshake"
_READING: Final = "ssl: waiting to read"
_WRITING: Final = "ssl: waiting to write"
_CLOSING: Final = "ssl: shutting down"


def __getattr__(name: str) -> Any:
    """Everything greenlane does not replace is the stdlib's own."""
    return getattr(_std, name)


class SSLSocket(_std.SSLSocket, _gsocket.socket):  # type: ignore[misc]
    """The stdlib's ``SSLSocket`` on a green socket; make one with ``SSLContext.wrap_socket``."""

    def _tls(self, op: Any, reason: str, *args: Any) -> Any:
        """Run one ``_sslobj`` operation, parking for whatever OpenSSL waits on."""
        deadline = None
        while True:
            try:
                return op(*args)
            except (_WantRead, _WantWrite) as exc:
                if self._green_timeout == 0.0:
                    raise
                events = READ if isinstance(exc, _WantRead) else WRITE
            deadline = self._wait(events, reason, deadline)

    def do_handshake(self, block: bool = False) -> None:
        """Run the TLS handshake (parks; ``block`` is accepted for the stdlib's signature)."""
        self._check_connected()  # type: ignore[attr-defined]
        if self._sslobj is None:
            raise ValueError("the socket is not wrapped in TLS")
        timeout = self._green_timeout
        try:
            if timeout == 0.0 and block:
                self._green_timeout = None
            self._tls(self._sslobj.do_handshake, _HANDSHAKE)
        finally:
            self._green_timeout = timeout

    def read(self, len: int = 1024, buffer: Any = None) -> Any:
        """Read up to ``len`` decrypted bytes (into ``buffer`` if given)."""
        self._checkClosed()  # type: ignore[attr-defined]
        sslobj = self._sslobj
        if sslobj is None:
            raise ValueError("Read on closed or unwrapped SSL socket.")
        try:
            if buffer is not None:
                return self._tls(sslobj.read, _READING, len, buffer)
            return self._tls(sslobj.read, _READING, len)
        except _std.SSLError as exc:
            if exc.args[0] == _std.SSL_ERROR_EOF and self.suppress_ragged_eofs:
                return 0 if buffer is not None else b""
            raise

    def write(self, data: Any) -> int:
        """Encrypt and send ``data``; the number of bytes taken."""
        self._checkClosed()  # type: ignore[attr-defined]
        if self._sslobj is None:
            raise ValueError("Write on closed or unwrapped SSL socket.")
        return self._tls(self._sslobj.write, _WRITING, data)

    def send(self, data: Any, flags: int = 0) -> int:
        """Send ``data`` over TLS (``flags`` must be 0, as in the stdlib)."""
        self._checkClosed()  # type: ignore[attr-defined]
        if self._sslobj is None:
            return _gsocket.socket.send(self, data, flags)
        if flags != 0:
            raise ValueError(f"non-zero flags not allowed in calls to send() on {self.__class__}")
        return self.write(data)

    def unwrap(self) -> _gsocket.socket:
        """Shut TLS down; this socket then carries plain data (the stdlib returns it too)."""
        if self._sslobj is None:  # type: ignore[has-type]
            raise ValueError(f"No SSL wrapper around {self}")
        plain = self._tls(self._sslobj.shutdown, _CLOSING)  # type: ignore[has-type]
        self._sslobj = None
        return plain  # type: ignore[no-any-return]


def _c_property(name: str) -> property:
    """``name``'s stdlib property, with a setter that goes straight to the C descriptor.

    The stdlib's setters call ``super(SSLContext, SSLContext).<name>.__set__``
    with ``SSLContext`` looked up in ``ssl``'s globals when they run: once
    patching makes that this class, ``super()`` finds the stdlib's property
    again and the setter calls itself forever. These setters skip it.
    """
    std = getattr(_std.SSLContext, name)
    c_descriptor = getattr(_ssl._SSLContext, name)

    def fset(self: _std.SSLContext, value: Any) -> None:
        if name == "minimum_version" and value == _std.TLSVersion.SSLv3:
            self.options &= ~_std.Options.OP_NO_SSLv3  # as the stdlib's setter does
        c_descriptor.__set__(self, value)

    return property(std.fget, fset, doc=std.__doc__)


_C_MSG_CALLBACK: Final[Any] = getattr(_ssl._SSLContext, "_msg_callback")  # noqa: B009 - untyped


def _set_msg_callback(self: _std.SSLContext, callback: Any) -> None:
    # The stdlib's setter, minus its recursive super() (see _c_property).
    if callback is None:
        _C_MSG_CALLBACK.__set__(self, None)
        return
    if not callable(callback):
        raise TypeError(f"{callback} is not callable.")

    def inner(  # noqa: PLR0917 - OpenSSL's callback signature
        conn: Any, direction: str, version: Any, content_type: Any, msg_type: Any, data: bytes
    ) -> Any:
        version = _enum_or_int(_std.TLSVersion, version)
        content_type = _enum_or_int(_std._TLSContentType, content_type)  # type: ignore[attr-defined]
        if content_type == _std._TLSContentType.HEADER:  # type: ignore[attr-defined]
            msg_enum = _std._TLSContentType  # type: ignore[attr-defined]
        elif content_type == _std._TLSContentType.ALERT:  # type: ignore[attr-defined]
            msg_enum = _std._TLSAlertType  # type: ignore[attr-defined]
        else:
            msg_enum = _std._TLSMessageType  # type: ignore[attr-defined]
        return callback(conn, direction, version, content_type, _enum_or_int(msg_enum, msg_type), data)

    inner.user_function = callback  # type: ignore[attr-defined]
    _C_MSG_CALLBACK.__set__(self, inner)


def _enum_or_int(enum: Any, value: Any) -> Any:
    try:
        return enum(value)
    except ValueError:
        return value


class SSLContext(_std.SSLContext):
    """The stdlib's ``SSLContext``; ``wrap_socket`` makes green TLS sockets."""

    sslsocket_class = SSLSocket

    options = _c_property("options")
    verify_flags = _c_property("verify_flags")
    verify_mode = _c_property("verify_mode")
    if hasattr(_std.SSLContext, "minimum_version"):
        minimum_version = _c_property("minimum_version")
        maximum_version = _c_property("maximum_version")
    _msg_callback = property(_std.SSLContext._msg_callback.fget, _set_msg_callback)  # type: ignore[attr-defined]


def create_default_context(
    purpose: _std.Purpose = _std.Purpose.SERVER_AUTH,
    *,
    cafile: str | None = None,
    capath: str | None = None,
    cadata: str | bytes | None = None,
) -> SSLContext:
    """A green ``SSLContext`` with exactly the stdlib's ``create_default_context`` settings."""
    context = _std_create_default_context(purpose, cafile=cafile, capath=capath, cadata=cadata)
    # Same layout, one more class level: this Python's defaults, green sockets.
    context.__class__ = SSLContext
    return context  # type: ignore[return-value]


# -- the stdlib's other ways to a context or a TLS socket, made green ----------
#
# Each builds a *stdlib* SSLContext (through the ``SSLContext`` global of the
# ``ssl`` module) unless ``ssl`` is patched, and a stdlib context wraps a
# socket into a stdlib SSLSocket whose handshake blocks the OS thread, hub
# included. http.client, ftplib and urllib.request reach them, so the green
# copies of those modules would hang without these.


def _green_context(context: _std.SSLContext) -> SSLContext:
    """``context`` answering with green sockets (a stdlib context changes class; a green one stays)."""
    if type(context) is _std.SSLContext:
        context.__class__ = SSLContext
    return context  # type: ignore[return-value]


def _create_default_https_context(*args: Any, **kwargs: Any) -> SSLContext:
    """The context ``http.client`` uses: whatever ``ssl._create_default_https_context`` makes, green.

    Reads the stdlib module's function when called, so a program that
    replaced it (the well-known ``= ssl._create_unverified_context``) is
    obeyed here too.
    """
    return _green_context(_std._create_default_https_context(*args, **kwargs))


def _create_unverified_context(*args: Any, **kwargs: Any) -> SSLContext:
    """The stdlib's ``_create_unverified_context`` (no certificate checks), green."""
    return _green_context(_std._create_unverified_context(*args, **kwargs))


_create_stdlib_context = _create_unverified_context  # the stdlib's alias (ftplib, poplib, ...)


def get_server_certificate(
    addr: tuple[str, int],
    ssl_version: int = _std.PROTOCOL_TLS_CLIENT,
    ca_certs: str | None = None,
    timeout: Any = _gsocket._GLOBAL_DEFAULT_TIMEOUT,
) -> str:
    """The PEM certificate of the server at ``addr``; verified only if ``ca_certs`` is given."""
    host, _port = addr
    cert_reqs = _std.CERT_REQUIRED if ca_certs is not None else _std.CERT_NONE
    context = _create_unverified_context(ssl_version, cert_reqs=cert_reqs, cafile=ca_certs)
    with (
        _gsocket.create_connection(addr, timeout=timeout) as sock,
        context.wrap_socket(sock, server_hostname=host) as tls,
    ):
        der = tls.getpeercert(True)
    assert der is not None
    return _std.DER_cert_to_PEM_cert(der)


if hasattr(_std, "wrap_socket"):  # removed in Python 3.12

    def wrap_socket(  # noqa: PLR0917 - the stdlib's signature
        sock: Any,
        keyfile: str | None = None,
        certfile: str | None = None,
        server_side: bool = False,
        cert_reqs: int = _std.CERT_NONE,
        ssl_version: int = _std.PROTOCOL_TLS,
        ca_certs: str | None = None,
        do_handshake_on_connect: bool = True,
        suppress_ragged_eofs: bool = True,
        ciphers: str | None = None,
    ) -> SSLSocket:
        """The stdlib's deprecated ``ssl.wrap_socket`` (Python < 3.12), making a green TLS socket.

        Same arguments and defaults (no certificate checks unless
        ``cert_reqs`` asks); eventlet greens it too.
        """
        warnings.warn(
            "ssl.wrap_socket() is deprecated, use SSLContext.wrap_socket()", DeprecationWarning, stacklevel=2
        )
        if server_side and not certfile:
            raise ValueError("certfile must be specified for server-side operations")
        if keyfile and not certfile:
            raise ValueError("certfile must be specified")
        with warnings.catch_warnings():  # the default PROTOCOL_TLS warns too: one warning is enough
            warnings.simplefilter("ignore", DeprecationWarning)
            context = SSLContext(ssl_version)
        context.verify_mode = _std.VerifyMode(cert_reqs)
        if ca_certs:
            context.load_verify_locations(ca_certs)
        if certfile:
            context.load_cert_chain(certfile, keyfile)
        if ciphers:
            context.set_ciphers(ciphers)
        return context.wrap_socket(  # type: ignore[return-value]
            sock,
            server_side=server_side,
            do_handshake_on_connect=do_handshake_on_connect,
            suppress_ragged_eofs=suppress_ragged_eofs,
        )


# ssl's own imports from socket, seen as ssl.socket and ssl.create_connection: the green ones here.
socket: Final = _gsocket.socket
create_connection: Final = _gsocket.create_connection
