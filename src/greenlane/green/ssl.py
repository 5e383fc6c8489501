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

import ssl as _std
from typing import Any, Final

from .._core import READ, WRITE
from . import socket as _gsocket

__implements__: Final = ("SSLContext", "SSLSocket", "create_default_context")

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


class SSLContext(_std.SSLContext):
    """The stdlib's ``SSLContext``; ``wrap_socket`` makes green TLS sockets."""

    sslsocket_class = SSLSocket


def create_default_context(
    purpose: _std.Purpose = _std.Purpose.SERVER_AUTH,
    *,
    cafile: str | None = None,
    capath: str | None = None,
    cadata: str | bytes | None = None,
) -> SSLContext:
    """A green ``SSLContext`` with exactly the stdlib's ``create_default_context`` settings."""
    context = _std.create_default_context(purpose, cafile=cafile, capath=capath, cadata=cadata)
    # Same layout, one more class level: this Python's defaults, green sockets.
    context.__class__ = SSLContext
    return context  # type: ignore[return-value]
