"""Cooperative ``socket``: blocking calls block only the calling green thread.

How a green socket works. The OS-level socket is always non-blocking; the
timeout the user sets (``settimeout``, ``setblocking``, the default timeout)
is kept beside it and means what the stdlib says it means. A call first tries
the operation; if the kernel says ``EAGAIN``, the green thread parks on the
hub until the fd is ready (or the timeout passes, which raises the stdlib's
``TimeoutError``) and tries again. A user-level non-blocking socket
(timeout 0) raises ``BlockingIOError`` exactly as the stdlib's does, so
asyncio and selector-based code keep working on patched sockets.

The fd stays registered with the hub's poller between waits (``keep=True``:
no ``epoll_ctl`` per wait), which is sound only because every way a green
socket lets go of its fd (``close``, ``detach``, collection) tells the hub
first (``release_fd``); a green thread still waiting on the fd then gets
``IOClosed`` instead of waiting forever on a number that may be reused.

Try first or park first? Trying costs a failed ``recv`` (a syscall and a
raised ``BlockingIOError``) on every read that has to wait; parking first
costs a pass through the poller when data was already there. Request/response
traffic almost always waits, bulk transfers almost never do, so each socket
picks per read: it parks first while its reads keep waiting, and goes back to
trying first after a read that filled the whole buffer (more is probably
queued). On a socketpair ping-pong parking first was 22% cheaper per round
trip (11.8 vs 15.2 us CPU); ``benchmarks/workloads/echo.py`` has the
server-side figures.

Name resolution goes through the native thread pool (``greenlane.tpool``),
except for numeric addresses, which libc resolves without blocking. A
``connect`` to a host name resolves it the same way first, so it never stalls
the hub in libc.
"""

from __future__ import annotations

import builtins
import errno
import io
import os
import socket as _std
from collections.abc import Iterable
from typing import Any, Final

from greenlet import getcurrent as _getcurrent

from .._core import READ, WRITE, Hub, check_timeout, current_hub, get_hub
from ..tpool import execute as _in_native_thread

__implements__: Final = (
    "socket",
    "socketpair",
    "fromfd",
    "create_connection",
    "create_server",
    "getaddrinfo",
    "gethostbyname",
    "gethostbyname_ex",
    "gethostbyaddr",
    "getnameinfo",
    "getfqdn",
)

# The stdlib's own objects, captured before anyone can patch the module.
_C: Final = _std.SocketType  # the C socket type: its methods never wait on the hub
_c_recv: Final = _C.recv
_c_recv_into: Final = _C.recv_into
_c_send: Final = _C.send
_c_sendall: Final = _C.sendall
_c_connect_ex: Final = _C.connect_ex
_c_fileno: Final = _C.fileno
_c_settimeout: Final = _C.settimeout
_getdefaulttimeout: Final = _std.getdefaulttimeout
_std_getaddrinfo: Final = _std.getaddrinfo
_std_gethostbyname: Final = _std.gethostbyname
_std_gethostbyname_ex: Final = _std.gethostbyname_ex
_std_gethostbyaddr: Final = _std.gethostbyaddr
_std_getnameinfo: Final = _std.getnameinfo
_std_getfqdn: Final = _std.getfqdn
_std_create_server: Final = _std.create_server
_std_socketpair: Final = _std.socketpair
_inet_pton: Final = _std.inet_pton
_GiveupOnSendfile: Final[type[Exception]] = _std._GiveupOnSendfile  # type: ignore[attr-defined]

_CONNECT_PENDING: Final = frozenset({errno.EINPROGRESS, errno.EALREADY, errno.EINTR})
# How long a connect to a Unix socket whose listener's backlog is full waits before retrying.
UNIX_BACKLOG_RETRY: Final = 0.001
# os.sendfile() takes at most this much per call (the stdlib's limit, bpo-38319).
SENDFILE_MAX_BLOCK: Final = 2**30
# A per-call non-blocking flag: such a call raises BlockingIOError instead of parking.
_DONTWAIT: Final[int] = int(getattr(_std, "MSG_DONTWAIT", 0))  # a plain int: IntFlag & costs a Python call
_NUMERIC_NAMEINFO: Final = _std.NI_NUMERICHOST | _std.NI_NUMERICSERV

# Park reasons, shown by greenlane.debug's dump (constants: no formatting per wait).
_READING: Final = "socket: waiting to read"
_WRITING: Final = "socket: waiting to write"
_CONNECTING: Final = "socket: connecting"
_ACCEPTING: Final = "socket: accepting"


def __getattr__(name: str) -> Any:
    """Everything greenlane does not replace is the stdlib's own."""
    return getattr(_std, name)


def _timed_out() -> TimeoutError:
    return TimeoutError("timed out")


class socket(_std.socket):
    """A ``socket.socket`` whose blocking calls park the green thread instead of the OS thread."""

    __slots__ = ("_green_timeout", "_hub", "_read_waits")

    def __init__(
        self,
        family: int = -1,
        type: int = -1,
        proto: int = -1,
        fileno: int | None = None,
    ) -> None:
        self._hub: Hub | None = None
        self._read_waits = False  # see recv(): park before reading, not after a failed read
        self._green_timeout: float | None = _getdefaulttimeout()
        if fileno is None and not isinstance(family, int):
            # eventlet's GreenSocket(existing_socket): take the socket over.
            family, type, proto, fileno, self._green_timeout = _take_over(family)
        super().__init__(family, type, proto, fileno)
        _c_settimeout(self, 0.0)

    @property
    def fd(self) -> socket:
        """eventlet's ``GreenSocket.fd`` (the socket underneath): a green socket is its own."""
        return self

    # -- timeout: the user's, kept beside the always non-blocking fd ------

    def settimeout(self, value: float | None, /) -> None:
        """As the stdlib's: ``None`` blocks (the green thread), ``0`` never blocks, ``t > 0`` times out."""
        if value is not None:
            value = float(check_timeout(value, "socket timeout", negative=False))
        self._green_timeout = value
        if value == 0.0:
            self._read_waits = False  # non-blocking reads must never park

    def gettimeout(self) -> float | None:
        """The timeout set by the user (the fd itself is always non-blocking)."""
        return self._green_timeout

    def setblocking(self, flag: bool, /) -> None:
        """``setblocking(False)`` is ``settimeout(0)``; ``setblocking(True)`` is ``settimeout(None)``."""
        self._green_timeout = None if flag else 0.0
        if not flag:
            self._read_waits = False

    def getblocking(self) -> bool:
        """False only in non-blocking mode (timeout 0), as the stdlib's."""
        return self._green_timeout != 0.0

    @property
    def timeout(self) -> float | None:
        """The user's timeout, as ``gettimeout()``."""
        return self._green_timeout

    # -- waiting ----------------------------------------------------------

    def _wait(self, events: int, reason: str, deadline: float | None = None) -> float | None:
        """Park until the fd is ready for ``events``; return the deadline to keep for a retry.

        Raises the stdlib's ``TimeoutError`` when the socket's timeout passes.
        """
        hub = self._hub = current_hub()
        timeout = self._green_timeout
        if timeout is not None:
            now = hub.clock()
            if deadline is None:
                deadline = now + timeout
            timeout = deadline - now
            if timeout <= 0.0:
                raise _timed_out()
        if not hub.wait_fd(_c_fileno(self), events, timeout, reason, keep=True):
            raise _timed_out()
        return deadline

    def _wait_then(
        self, method: Any, events: int, reason: str, *args: Any, deadline: float | None = None
    ) -> Any:
        """Park until ready, then call ``method``; again, within one deadline, while it says EAGAIN."""
        while True:
            deadline = self._wait(events, reason, deadline)
            try:
                return method(self, *args)
            except BlockingIOError:
                pass

    def _call(self, method: Any, events: int, reason: str, flags: int, *args: Any) -> Any:
        """Call ``method(*args)``; if it would block, park and retry.

        Not in non-blocking mode, nor with ``MSG_DONTWAIT`` in ``flags``: those
        raise ``BlockingIOError`` as the stdlib's do.
        """
        try:
            return method(self, *args)
        except BlockingIOError:
            if self._green_timeout == 0.0 or flags & _DONTWAIT:
                raise
        return self._wait_then(method, events, reason, *args)

    def _release(self) -> None:
        hub = self._hub
        if hub is not None:
            self._hub = None
            fd = _c_fileno(self)
            if fd >= 0:
                hub.release_fd(fd)

    # -- receiving --------------------------------------------------------

    def recv(self, bufsize: int, flags: int = 0, /) -> bytes:
        """Receive up to ``bufsize`` bytes; ``b""`` at end of stream."""
        if not bufsize and self._green_timeout and not flags & _DONTWAIT:
            self._wait(READ, _READING)  # as the stdlib's: with a timeout, recv(0) waits for data first
        if self._read_waits and not flags & _DONTWAIT:  # the last read waited: this one likely will
            if self._green_timeout is None:  # the common case, without the call to _wait()
                deadline = None
                try:
                    hub = _getcurrent().rec.hub  # type: ignore[attr-defined]
                except AttributeError:
                    hub = get_hub()
                if hub.closed:  # a record left from a replaced hub
                    hub = get_hub()
                self._hub = hub
                hub.wait_fd(_c_fileno(self), READ, None, _READING, keep=True)
            else:
                deadline = self._wait(READ, _READING)
            try:
                data = _c_recv(self, bufsize, flags)
            except BlockingIOError:  # woken, yet nothing to read: wait out the same deadline
                data = self._wait_then(_c_recv, READ, _READING, bufsize, flags, deadline=deadline)
            if len(data) == bufsize:
                self._read_waits = False  # a full read: more is probably queued
            return data
        try:
            return _c_recv(self, bufsize, flags)
        except BlockingIOError:
            if self._green_timeout == 0.0 or flags & _DONTWAIT:
                raise
        self._read_waits = True
        return self._wait_then(_c_recv, READ, _READING, bufsize, flags)  # type: ignore[no-any-return]

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0, /) -> int:
        """Receive into ``buffer``; the number of bytes received."""
        if self._green_timeout and not nbytes and not flags & _DONTWAIT and not memoryview(buffer).nbytes:
            self._wait(READ, _READING)  # as the stdlib's: with a timeout, a 0-byte read waits for data first
        if self._read_waits and not flags & _DONTWAIT:
            deadline = self._wait(READ, _READING)
            try:
                got = _c_recv_into(self, buffer, nbytes, flags)
            except BlockingIOError:
                got = self._wait_then(_c_recv_into, READ, _READING, buffer, nbytes, flags, deadline=deadline)
            if got and got == (nbytes or memoryview(buffer).nbytes):
                self._read_waits = False
            return got
        try:
            return _c_recv_into(self, buffer, nbytes, flags)
        except BlockingIOError:
            if self._green_timeout == 0.0 or flags & _DONTWAIT:
                raise
        self._read_waits = True
        return self._wait_then(_c_recv_into, READ, _READING, buffer, nbytes, flags)  # type: ignore[no-any-return]

    def recvfrom(self, bufsize: int, flags: int = 0, /) -> tuple[bytes, Any]:
        """Receive up to ``bufsize`` bytes and the sender's address."""
        return self._call(_C.recvfrom, READ, _READING, flags, bufsize, flags)  # type: ignore[no-any-return]

    def recvfrom_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> tuple[int, Any]:
        """Receive into ``buffer``; the byte count and the sender's address."""
        return self._call(_C.recvfrom_into, READ, _READING, flags, buffer, nbytes, flags)  # type: ignore[no-any-return]

    def recvmsg(
        self, bufsize: int, ancbufsize: int = 0, flags: int = 0, /
    ) -> tuple[bytes, list[Any], int, Any]:
        """``recvmsg(2)``: data, ancillary data, flags and address."""
        return self._call(_C.recvmsg, READ, _READING, flags, bufsize, ancbufsize, flags)  # type: ignore[no-any-return]

    def recvmsg_into(
        self, buffers: Iterable[Any], ancbufsize: int = 0, flags: int = 0, /
    ) -> tuple[int, list[Any], int, Any]:
        """``recvmsg(2)`` into ``buffers``."""
        buffers = list(buffers)
        return self._call(_C.recvmsg_into, READ, _READING, flags, buffers, ancbufsize, flags)  # type: ignore[no-any-return]

    # -- sending ----------------------------------------------------------

    def send(self, data: Any, flags: int = 0, /) -> int:
        """Send some of ``data``; the number of bytes sent."""
        try:
            return _c_send(self, data, flags)
        except BlockingIOError:
            if self._green_timeout == 0.0 or flags & _DONTWAIT:
                raise
        return self._wait_then(_c_send, WRITE, _WRITING, data, flags)  # type: ignore[no-any-return]

    def sendall(self, data: Any, flags: int = 0, /) -> None:
        """Send all of ``data``; the timeout (if any) bounds the whole call, as in the stdlib."""
        if self._green_timeout == 0.0 or flags & _DONTWAIT:
            return _c_sendall(self, data, flags)
        try:
            sent = _c_send(self, data, flags)
        except BlockingIOError:
            sent = 0
        if sent == len(data) and isinstance(data, (bytes, bytearray)):
            return None  # the common case: all of it went at once
        with memoryview(data) as view, view.cast("B") as flat:
            total = flat.nbytes
            deadline = None
            while sent < total:
                try:
                    sent += _c_send(self, flat[sent:], flags)
                except BlockingIOError:
                    deadline = self._wait(WRITE, _WRITING, deadline)
        return None

    def sendto(self, data: Any, flags_or_address: Any, address: Any = None, /) -> int:
        """Send a datagram to ``address`` (``sendto(data[, flags], address)``, as the stdlib)."""
        if address is None:
            return self._call(_C.sendto, WRITE, _WRITING, 0, data, flags_or_address)  # type: ignore[no-any-return]
        flags = flags_or_address
        return self._call(_C.sendto, WRITE, _WRITING, flags, data, flags, address)  # type: ignore[no-any-return]

    def sendmsg(
        self, buffers: Iterable[Any], ancdata: Iterable[Any] = (), flags: int = 0, address: Any = None, /
    ) -> int:
        """``sendmsg(2)``: the number of bytes sent."""
        buffers, ancdata = list(buffers), list(ancdata)
        if address is None:
            return self._call(_C.sendmsg, WRITE, _WRITING, flags, buffers, ancdata, flags)  # type: ignore[no-any-return]
        return self._call(_C.sendmsg, WRITE, _WRITING, flags, buffers, ancdata, flags, address)  # type: ignore[no-any-return]

    def _sendfile_use_sendfile(self, file: Any, offset: int = 0, count: int | None = None) -> int:
        # The stdlib's version waits in a selector (blocking the OS thread); this one parks.
        self._check_sendfile_params(file, offset, count)  # type: ignore[attr-defined]
        try:
            fileno = file.fileno()
            fsize = os.fstat(fileno).st_size
        except (AttributeError, io.UnsupportedOperation, OSError) as err:
            raise _GiveupOnSendfile(err) from None  # not a regular file
        if not fsize:
            return 0
        if self._green_timeout == 0.0:
            raise ValueError("non-blocking sockets are not supported")
        blocksize = min(count or fsize, SENDFILE_MAX_BLOCK)
        total = 0
        try:
            while True:
                if count:
                    blocksize = min(count - total, SENDFILE_MAX_BLOCK)
                    if blocksize <= 0:
                        break
                try:
                    sent = os.sendfile(_c_fileno(self), fileno, offset, blocksize)
                except BlockingIOError:
                    self._wait(WRITE, _WRITING)
                    continue
                except OSError as err:
                    if total == 0:
                        raise _GiveupOnSendfile(err) from None  # e.g. not mmap-able: use send()
                    raise
                if sent == 0:
                    break  # end of file
                offset += sent
                total += sent
            return total
        finally:
            if total > 0 and hasattr(file, "seek"):
                file.seek(offset)

    # -- connections ------------------------------------------------------

    def accept(self) -> tuple[socket, Any]:
        """Wait for a connection; a new green socket and the peer's address."""
        fd, address = self._call(_C._accept, READ, _ACCEPTING, 0)  # type: ignore[attr-defined]
        conn = socket(self.family, self.type, self.proto, fileno=fd)
        if _getdefaulttimeout() is None and self._green_timeout:
            conn.setblocking(True)  # the stdlib's rule for accepted sockets
        return conn, address

    def connect(self, address: Any, /) -> None:
        """Connect to ``address``; a host name is resolved without blocking the hub."""
        err = self._connect(address)
        if err:
            raise OSError(err, os.strerror(err))

    def connect_ex(self, address: Any, /) -> int:
        """Connect to ``address``; 0 on success, else the errno (exceptions for other failures)."""
        try:
            return self._connect(address)
        except TimeoutError:
            return errno.EAGAIN

    def _connect(self, address: Any) -> int:
        address = _resolve_for(self, address)
        err = _c_connect_ex(self, address)
        if self._green_timeout == 0.0:
            return err
        deadline = None
        while err and err != errno.EISCONN:
            if err == errno.EAGAIN and self.family == getattr(_std, "AF_UNIX", None):
                # The listener's backlog is full: the stdlib would block, so retry shortly.
                deadline = self._pause_before_retry(deadline)
                err = _c_connect_ex(self, address)
            elif err in _CONNECT_PENDING:
                deadline = self._wait(WRITE, _CONNECTING, deadline)
                err = self.getsockopt(_std.SOL_SOCKET, _std.SO_ERROR)
            else:
                return err
        return 0

    def _pause_before_retry(self, deadline: float | None) -> float | None:
        hub = get_hub()
        now = hub.clock()
        if self._green_timeout is not None:
            if deadline is None:
                deadline = now + self._green_timeout
            if now >= deadline:
                raise _timed_out()
        hub.park("socket: connect retry (listener backlog full)", UNIX_BACKLOG_RETRY)
        return deadline

    # -- letting go of the fd: tell the hub first -------------------------

    def _real_close(self, _ss: Any = _C) -> None:
        self._release()
        _C.close(self)

    def detach(self) -> int:
        """Give up the fd without closing it (the hub forgets it first)."""
        self._release()
        return super().detach()

    def __del__(self) -> None:
        if getattr(self, "_hub", None) is not None:
            self._release()
        _C.__del__(self)  # type: ignore[attr-defined]  # the stdlib's ResourceWarning and close

    def dup(self) -> socket:
        """A new green socket on a duplicate of the fd, with the same timeout."""
        sock = socket(self.family, self.type, self.proto, fileno=os.dup(_c_fileno(self)))
        sock.settimeout(self._green_timeout)
        return sock


SocketType: Final = socket  # eventlet's and gevent's alias; the stdlib's SocketType stays the C type


# Python 3.11+ (all_errors). __builtins__ is a dict in an imported module: ask builtins.
_ExceptionGroup: Any = getattr(builtins, "ExceptionGroup", None)


def _take_over(sock: Any) -> tuple[int, int, int, int, float | None]:
    """Family, type, proto, fd and timeout of ``sock``, which is detached: its fd is ours now.

    ``sock`` is any socket-like object (a stdlib or green socket, or a wrapper
    that forwards to one, as gunicorn's listeners do). After this its
    ``close()`` does nothing, so dropping it cannot close the fd under the
    green socket.
    """
    try:
        family, type_, proto, timeout = sock.family, sock.type, sock.proto, sock.gettimeout()
        detach = sock.detach
    except AttributeError:
        raise TypeError(
            f"socket() needs an address family (an int) or a socket to take over, not {sock!r}"
        ) from None
    return int(family), int(type_), int(proto), detach(), timeout


def _is_numeric(host: str) -> bool:
    for family in (_std.AF_INET, _std.AF_INET6):
        try:
            _inet_pton(family, host)
        except (OSError, ValueError):
            continue
        return True
    return False


def _needs_resolver(host: Any) -> bool:
    """True if libc would have to look ``host`` up (and might block doing so)."""
    if isinstance(host, bytes):
        host = host.decode("idna")
    return isinstance(host, str) and host not in ("", "<broadcast>") and not _is_numeric(host)


def _resolve_for(sock: socket, address: Any) -> Any:
    if sock.family not in (_std.AF_INET, _std.AF_INET6) or not isinstance(address, tuple) or len(address) < 2:
        return address
    host, port = address[0], address[1]
    if not _needs_resolver(host):
        return address
    infos = getaddrinfo(host, port, sock.family, sock.type, sock.proto)
    resolved = infos[0][4]
    if sock.family == _std.AF_INET6 and len(address) == 4:
        return (resolved[0], resolved[1], address[2], address[3])
    return resolved


# -- module functions -----------------------------------------------------


def socketpair(family: int = -1, type: int = _std.SOCK_STREAM, proto: int = 0) -> tuple[socket, socket]:
    """A connected pair of green sockets (``AF_UNIX`` where available)."""
    if family == -1:
        family = getattr(_std, "AF_UNIX", _std.AF_INET)
    a, b = _std_socketpair(family, type, proto)
    return (
        socket(family, type, proto, fileno=a.detach()),
        socket(family, type, proto, fileno=b.detach()),
    )


def fromfd(fd: int, family: int, type: int, proto: int = 0) -> socket:
    """A green socket on a duplicate of ``fd``."""
    return socket(family, type, proto, fileno=os.dup(fd))


def create_connection(
    address: tuple[str | None, int],
    timeout: float | object | None = _std._GLOBAL_DEFAULT_TIMEOUT,  # type: ignore[attr-defined]
    source_address: tuple[str, int] | None = None,
    *,
    all_errors: bool = False,
) -> socket:
    """Connect to ``(host, port)`` trying each address it resolves to, as the stdlib's."""
    host, port = address
    errors: list[OSError] = []
    for family, type_, proto, _canon, sockaddr in getaddrinfo(host, port, 0, _std.SOCK_STREAM):
        sock = socket(family, type_, proto)
        try:
            if timeout is not _std._GLOBAL_DEFAULT_TIMEOUT:  # type: ignore[attr-defined]
                sock.settimeout(timeout)  # type: ignore[arg-type]
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            errors.clear()
            return sock
        except OSError as exc:
            errors.append(exc)
            sock.close()
    if not errors:
        raise OSError(f"getaddrinfo returns an empty list for {host!r}")
    if all_errors and _ExceptionGroup is not None:  # 3.10 has no all_errors: the first error, as before
        raise _ExceptionGroup("create_connection failed", errors)
    raise errors[0]


def create_server(
    address: tuple[str, int] | str,
    *,
    family: int = _std.AF_INET,
    backlog: int | None = None,
    reuse_port: bool = False,
    dualstack_ipv6: bool = False,
) -> socket:
    """A listening green socket bound to ``address`` (the stdlib's options and rules)."""
    std = _std_create_server(
        address, family=family, backlog=backlog, reuse_port=reuse_port, dualstack_ipv6=dualstack_ipv6
    )
    return socket(std.family, std.type, std.proto, fileno=std.detach())


# -- name resolution: libc may block, so it runs in the native thread pool --


def getaddrinfo(  # noqa: PLR0917 - the stdlib's signature
    host: bytes | str | None,
    port: bytes | str | int | None,
    family: int = 0,
    type: int = 0,
    proto: int = 0,
    flags: int = 0,
) -> list[tuple[Any, Any, int, str, Any]]:
    """The stdlib's ``getaddrinfo``, resolving names in a native thread."""
    if not _needs_resolver(host):
        return _std_getaddrinfo(host, port, family, type, proto, flags)
    return _in_native_thread(_std_getaddrinfo, host, port, family, type, proto, flags)


def gethostbyname(hostname: str) -> str:
    """The stdlib's ``gethostbyname``, resolving in a native thread."""
    if not _needs_resolver(hostname):
        return _std_gethostbyname(hostname)
    return _in_native_thread(_std_gethostbyname, hostname)


def gethostbyname_ex(hostname: str) -> tuple[str, list[str], list[str]]:
    """The stdlib's ``gethostbyname_ex``, resolving in a native thread."""
    return _in_native_thread(_std_gethostbyname_ex, hostname)


def gethostbyaddr(ip_address: str) -> tuple[str, list[str], list[str]]:
    """The stdlib's ``gethostbyaddr`` (a reverse lookup), in a native thread."""
    return _in_native_thread(_std_gethostbyaddr, ip_address)


def getnameinfo(sockaddr: tuple[Any, ...], flags: int) -> tuple[str, str]:
    """The stdlib's ``getnameinfo``; in a native thread unless both host and port stay numeric."""
    if flags & _NUMERIC_NAMEINFO == _NUMERIC_NAMEINFO:
        return _std_getnameinfo(sockaddr, flags)
    return _in_native_thread(_std_getnameinfo, sockaddr, flags)


def getfqdn(name: str = "") -> str:
    """The stdlib's ``getfqdn``, in a native thread."""
    return _in_native_thread(_std_getfqdn, name)
