"""eventlet's ``greenio``: ``GreenSocket``, ``GreenPipe`` (green file objects over OS pipes) and ``IOClosed``.

``GreenPipe`` wraps a pipe (or any fd a poller accepts: FIFOs, ttys) so that
reading and writing park the green thread. The fd is switched to
non-blocking mode, as eventlet does; a regular file, which is always ready,
simply reads and writes.
"""

from __future__ import annotations

import errno
import io
import os
from typing import IO, Any, Final

from ._core import READ, WRITE, IOClosed, get_hub
from .green.socket import socket as GreenSocket

__all__ = ["GreenPipe", "GreenSocket", "IOClosed", "shutdown_safe"]

# Captured before patching can swap in the green os functions (which would wait themselves).
_os_readv: Final = os.readv
_os_write: Final = os.write

_READING: Final = "pipe: waiting to read"
_WRITING: Final = "pipe: waiting to write"


class GreenFileIO(io.RawIOBase):
    """A raw binary file over a non-blocking fd; reads and writes park the green thread."""

    def __init__(self, fd: int, mode: str = "r", closefd: bool = True) -> None:
        super().__init__()
        # IOBase's finalizer calls close() even when __init__ raised (3.13+ reports what
        # close() raises there as unraisable): until __init__ succeeds it has nothing to
        # close, and a bad fd stays the caller's.
        self._closefd = False
        if not isinstance(fd, int) or fd < 0:
            raise ValueError(f"GreenFileIO needs an open fd, not {fd!r}")
        self._fd = fd
        self._readable = "r" in mode or "+" in mode
        self._writable = any(c in mode for c in "wax+")
        os.set_blocking(fd, False)
        self._closefd = closefd

    def fileno(self) -> int:
        """The fd."""
        self._check_open()
        return self._fd

    def readable(self) -> bool:
        """True if opened for reading."""
        return self._readable

    def writable(self) -> bool:
        """True if opened for writing."""
        return self._writable

    def seekable(self) -> bool:
        """True for a regular file (a pipe, FIFO or tty cannot seek)."""
        return _seekable(self.fileno())

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        """Move the file position (``tell()`` is ``seek(0, SEEK_CUR)``); the new position."""
        return os.lseek(self.fileno(), offset, whence)

    def isatty(self) -> bool:
        """True for a terminal."""
        return os.isatty(self.fileno())

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on closed file")

    def readinto(self, buffer: Any) -> int:
        """Read into ``buffer``, parking until data (or end of file) arrives."""
        self._check_open()
        while True:
            try:
                return _os_readv(self._fd, [buffer])
            except BlockingIOError:
                get_hub().wait_fd(self._fd, READ, None, _READING)

    def write(self, data: Any) -> int:
        """Write some of ``data``, parking until the fd accepts any; the count written."""
        self._check_open()
        while True:
            try:
                return _os_write(self._fd, data)
            except BlockingIOError:
                get_hub().wait_fd(self._fd, WRITE, None, _WRITING)

    def close(self) -> None:
        """Close the fd (waiters on it get ``IOClosed``)."""
        if not self.closed:
            try:
                super().close()
            finally:
                if self._closefd:
                    get_hub().notify_close(self._fd)
                    os.close(self._fd)

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"fd={self._fd}"
        return f"<GreenFileIO {state}>"


def GreenPipe(f: int | str | IO[Any], mode: str = "r", bufsize: int = -1) -> IO[Any]:
    """A green file object over ``f``: an fd, a path, or an open file (its fd is duplicated).

    ``mode`` and ``bufsize`` are ``open``'s (``"rb"``, ``"w"``, ...; 0 means
    unbuffered, binary only).
    """
    if isinstance(f, str):
        fd = os.open(f, _open_flags(mode), 0o666)
    elif isinstance(f, int):
        fd = f
    else:
        fd = os.dup(f.fileno())
    raw = GreenFileIO(fd, mode)
    if bufsize == 0:
        if "b" not in mode:
            raise ValueError(f"an unbuffered GreenPipe must be binary, not mode {mode!r}")
        return raw  # type: ignore[return-value]
    size = io.DEFAULT_BUFFER_SIZE if bufsize < 0 else bufsize
    buffered: io.BufferedIOBase
    if raw.readable() and raw.writable():
        buffered = io.BufferedRandom(raw, size) if _seekable(fd) else io.BufferedRWPair(raw, raw, size)
    elif raw.writable():
        buffered = io.BufferedWriter(raw, size)
    else:
        buffered = io.BufferedReader(raw, size)
    if "b" in mode:
        return buffered  # type: ignore[return-value]
    return io.TextIOWrapper(buffered, line_buffering=bufsize == 1)  # type: ignore[type-var]


def _open_flags(mode: str) -> int:
    """``os.open`` flags meaning what ``open()``'s ``mode`` does ("w" creates and truncates, "a" appends)."""
    flags = os.O_RDWR if "+" in mode else os.O_RDONLY if "r" in mode else os.O_WRONLY
    if "w" in mode:
        flags |= os.O_CREAT | os.O_TRUNC
    elif "a" in mode:
        flags |= os.O_CREAT | os.O_APPEND
    elif "x" in mode:
        flags |= os.O_CREAT | os.O_EXCL
    return flags


def _seekable(fd: int) -> bool:
    try:
        os.lseek(fd, 0, os.SEEK_CUR)
    except OSError:
        return False
    return True


def shutdown_safe(sock: Any) -> Any:
    """``sock.shutdown(SHUT_RDWR)``, ignoring the error of a socket that is not connected."""
    try:
        return sock.shutdown(2)
    except OSError as exc:
        if exc.errno != errno.ENOTCONN:
            raise
        return None
