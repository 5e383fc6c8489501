"""Cooperative ``os``: ``read``/``write`` park on the fd, ``waitpid``/``wait`` park on the child.

``read`` and ``write`` on a non-blocking fd try first and park on ``EAGAIN``;
on a blocking fd (a pipe someone left blocking, a tty) they park until the fd
is ready and then make the one call, which then cannot block (a regular file
is always ready). A pipe or socket polled writable is sure to take only
``PIPE_BUF`` bytes, so a big blocking ``write`` to one is made in chunks of
that size, parking before each: all of ``data`` is written, as the stdlib's
blocking write does, but a single call for it all would block the whole OS
thread until a reader, perhaps a green thread of this very hub, made room.
Two green threads cannot wait to read the same fd at once (the hub refuses:
nothing could say which of them the data is for).

Waiting for a child. eventlet polls ``waitpid(WNOHANG)`` every 10 ms. Here a
wait for one child (``pid > 0``) opens a pidfd (Linux 5.3+), which becomes
readable when the child exits, and parks on it: no polling, no SIGCHLD
handler taken from the application. Waits the pidfd cannot express (any
child, a process group, ``WUNTRACED``/``WCONTINUED``, no pidfd support) run
in ``tpool``'s native threads instead; such a wait cannot be cancelled, so a
killed waiter may leave its thread to reap the child.
"""

from __future__ import annotations

import os as _std
import select as _select
import stat as _stat
from typing import Any, Final

from .._core import READ, WRITE, get_hub
from ..tpool import execute as _in_native_thread
from ._child import _green, wait, waitpid  # noqa: F401 - green.os's own wait and waitpid

__implements__: Final = ("read", "write", "waitpid", "wait")

# The originals, captured before patching replaces them in the os module.
_read: Final = _std.read
_write: Final = _std.write

# What a pipe polled writable is sure to take without blocking (POSIX's minimum if unknown).
_PIPE_BUF: Final[int] = getattr(_select, "PIPE_BUF", 512)


def __getattr__(name: str) -> Any:
    """Everything greenlane does not replace is the stdlib's own."""
    return getattr(_std, name)


def read(fd: int, n: int, /) -> bytes:
    """Read at most ``n`` bytes from ``fd``, parking (not blocking) until some arrive."""
    if not _green() or n == 0:  # read(fd, 0) returns b"" at once, as the stdlib's
        return _read(fd, n)
    if _std.get_blocking(fd):
        get_hub().wait_fd(fd, READ, None, f"os.read fd {fd}")
        return _read(fd, n)
    while True:
        try:
            return _read(fd, n)
        except BlockingIOError:
            get_hub().wait_fd(fd, READ, None, f"os.read fd {fd}")


_std_readinto: Final[Any] = getattr(_std, "readinto", None)  # Python 3.14+


def readinto(fd: int, buffer: Any, /) -> int:
    """Python 3.14's ``os.readinto``: fill ``buffer`` from ``fd``, parking (not blocking) until data arrive.

    Not installed by ``monkey_patch`` (eventlet's four names are); exists where the stdlib's does.
    """
    if _std_readinto is None:
        raise AttributeError("os.readinto exists from Python 3.14 on")
    if not _green() or not memoryview(buffer).nbytes:
        return int(_std_readinto(fd, buffer))
    if _std.get_blocking(fd):
        get_hub().wait_fd(fd, READ, None, f"os.readinto fd {fd}")
        return int(_std_readinto(fd, buffer))
    while True:
        try:
            return int(_std_readinto(fd, buffer))
        except BlockingIOError:
            get_hub().wait_fd(fd, READ, None, f"os.readinto fd {fd}")


if _std_readinto is None:
    del readinto  # before 3.14 the name falls through to the stdlib's module, which has none


def write(fd: int, data: Any, /) -> int:
    """Write some of ``data`` to ``fd``, parking (not blocking) until it accepts any; the count written."""
    if not _green():
        return _write(fd, data)
    if _std.get_blocking(fd):
        chunks = _chunks(fd, data)
        if chunks is None:
            get_hub().wait_fd(fd, WRITE, None, f"os.write fd {fd}")
            return _write(fd, data)
        written = 0
        while written < len(chunks):
            get_hub().wait_fd(fd, WRITE, None, f"os.write fd {fd}")
            written += _write(fd, chunks[written:written + _PIPE_BUF])
        return written
    while True:
        try:
            return _write(fd, data)
        except BlockingIOError:
            get_hub().wait_fd(fd, WRITE, None, f"os.write fd {fd}")


def _chunks(fd: int, data: Any) -> memoryview | None:
    """``data`` as bytes to write ``PIPE_BUF`` at a time to a pipe or socket; None: write it at once."""
    try:
        view = memoryview(data)
    except TypeError:
        return None  # os.write raises its own TypeError
    if view.nbytes <= _PIPE_BUF:
        return None
    mode = _std.fstat(fd).st_mode
    if not (_stat.S_ISFIFO(mode) or _stat.S_ISSOCK(mode)):
        return None
    try:
        return view.cast("B")
    except TypeError:  # not contiguous: os.write refuses it anyway
        return None


# -- the stdlib's other calls that wait for a child or a command ----------------
#
# Not installed by ``monkey_patch`` (``__implements__`` stays eventlet's four
# names): code that imports this module gets them green; patched code keeps the
# stdlib's, whose ``popen`` is green anyway once ``subprocess`` is patched.

_std_system: Final = _std.system
_std_wait3: Final = _std.wait3
_std_wait4: Final = _std.wait4
_std_waitid: Final[Any] = getattr(_std, "waitid", None)
_wrap_close: Final[Any] = getattr(_std, "_wrap_close")  # noqa: B009 - private, untyped


def system(command: str | bytes) -> int:
    """``os.system``, run in a native thread: only the calling green thread waits for the command."""
    if not _green():
        return _std_system(command)
    return _in_native_thread(_std_system, command)


def wait3(options: int) -> tuple[int, int, Any]:
    """``os.wait3``; a wait without ``WNOHANG`` runs in a native thread."""
    if options & _std.WNOHANG or not _green():
        return _std_wait3(options)
    return _in_native_thread(_std_wait3, options)


def wait4(pid: int, options: int) -> tuple[int, int, Any]:
    """``os.wait4``; a wait without ``WNOHANG`` runs in a native thread."""
    if options & _std.WNOHANG or not _green():
        return _std_wait4(pid, options)
    return _in_native_thread(_std_wait4, pid, options)


if _std_waitid is not None:

    def waitid(idtype: int, ident: int, options: int, /) -> Any:
        """``os.waitid``; a wait without ``WNOHANG`` runs in a native thread."""
        if options & _std.WNOHANG or not _green():
            return _std_waitid(idtype, ident, options)
        return _in_native_thread(_std_waitid, idtype, ident, options)


def popen(cmd: str, mode: str = "r", buffering: int = -1) -> Any:
    """``os.popen`` over ``greenlane.green.subprocess``: reading, writing and ``close()`` park."""
    if not isinstance(cmd, str):
        raise TypeError(f"invalid cmd type ({type(cmd)}, expected string)")
    if mode not in ("r", "w"):
        raise ValueError(f"invalid mode {mode!r}")
    if buffering == 0 or buffering is None:
        raise ValueError("popen() does not support unbuffered streams")
    from . import subprocess  # here: green subprocess imports this module

    if mode == "r":
        proc = subprocess.Popen(cmd, shell=True, text=True, stdout=subprocess.PIPE, bufsize=buffering)
        return _wrap_close(proc.stdout, proc)
    proc = subprocess.Popen(cmd, shell=True, text=True, stdin=subprocess.PIPE, bufsize=buffering)
    return _wrap_close(proc.stdin, proc)


def fdopen(fd: int, mode: str = "r", buffering: int = -1, **kwargs: Any) -> Any:
    """``os.fdopen``: over a pipe, FIFO, socket or tty a ``GreenPipe`` (reads and writes park), as eventlet's.

    A regular file, which never waits, and any call with ``open``'s other
    keywords (``encoding``, ``newline``, ...) get the stdlib's file object.
    """
    if not isinstance(fd, int):
        raise TypeError(f"fdopen() needs an fd (an int), not {fd!r}")
    if kwargs or _stat.S_ISREG(_std.fstat(fd).st_mode):
        return _std.fdopen(fd, mode, buffering, **kwargs)
    from ..greenio import GreenPipe  # here: greenio imports the green socket, which imports tpool

    return GreenPipe(fd, mode, buffering)


def _spawn_waiting_in_thread(name: str) -> Any:
    std = getattr(_std, name)

    def spawn(mode: int, file: Any, *args: Any) -> int:
        if mode == _std.P_WAIT and _green():
            return _in_native_thread(std, mode, file, *args)  # type: ignore[no-any-return]
        return std(mode, file, *args)  # type: ignore[no-any-return]

    spawn.__name__ = spawn.__qualname__ = name
    spawn.__doc__ = f"``os.{name}``; with ``P_WAIT`` the wait runs in a native thread."
    return spawn


spawnl = _spawn_waiting_in_thread("spawnl")
spawnle = _spawn_waiting_in_thread("spawnle")
spawnlp = _spawn_waiting_in_thread("spawnlp")
spawnlpe = _spawn_waiting_in_thread("spawnlpe")
spawnv = _spawn_waiting_in_thread("spawnv")
spawnve = _spawn_waiting_in_thread("spawnve")
spawnvp = _spawn_waiting_in_thread("spawnvp")
spawnvpe = _spawn_waiting_in_thread("spawnvpe")
