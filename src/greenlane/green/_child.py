"""Waiting for a child process without blocking the hub: ``waitpid`` and ``wait``.

Shared by ``green.os`` (which exports them) and ``green.subprocess`` (whose
``Popen.wait`` uses them), so neither imports the other at its top. A live
child is waited on through a pidfd (Linux 5.3+): the green thread parks on it
like on a socket. Elsewhere, or when the kernel refuses pidfds, the blocking
call runs in a ``tpool`` thread.
"""

from __future__ import annotations

import os as _std
from typing import Final

from .._core import READ, existing_hub, get_hub, is_main_thread
from .._core import get_ident as _os_get_ident
from ..tpool import execute as _in_native_thread

__all__ = ["wait", "waitpid"]

_waitpid: Final = _std.waitpid
# Options a pidfd wait can honour: it reports exits only.
_PIDFD_OPTIONS: Final = 0
_HAS_PIDFD: Final = hasattr(_std, "pidfd_open")
_pidfd_works = [_HAS_PIDFD]  # cleared the first time the kernel refuses pidfd_open


def _green() -> bool:
    """True if the calling OS thread has (or, being the main thread, may make) a hub."""
    return existing_hub() is not None or is_main_thread(_os_get_ident())


def waitpid(pid: int, options: int, /) -> tuple[int, int]:
    """``os.waitpid`` that parks only the calling green thread (see the module docstring)."""
    if options & _std.WNOHANG or not _green():
        return _waitpid(pid, options)
    if pid > 0 and options == _PIDFD_OPTIONS and _pidfd_works[0]:
        try:
            pidfd = _std.pidfd_open(pid)
        except ProcessLookupError:
            return _waitpid(pid, options)  # not a live process: the stdlib's answer (ChildProcessError)
        except OSError:  # ENOSYS (old kernel), EPERM (seccomp): use threads from now on
            _pidfd_works[0] = False
        else:
            try:
                while True:
                    done = _waitpid(pid, options | _std.WNOHANG)
                    if done != (0, 0):
                        return done
                    get_hub().wait_fd(pidfd, READ, None, f"child process {pid}")
            finally:
                _std.close(pidfd)
    return _in_native_thread(_waitpid, pid, options)


def wait() -> tuple[int, int]:
    """``os.wait``: wait for any child, parking only the calling green thread."""
    return waitpid(-1, 0)
