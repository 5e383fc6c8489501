"""Cooperative ``subprocess``: ``Popen``'s pipes and waits park only the calling green thread.

``Popen`` here is the stdlib's, with three changes: its pipes are green file
objects (``greenio.GreenPipe`` over a duplicate of each pipe fd, so reading
``proc.stdout`` parks); ``wait`` parks on the child through
``greenlane.green.os.waitpid`` (a pidfd, no polling loop); and
``communicate`` feeds stdin and drains stdout and stderr in green threads of
its own (the stdlib's uses a selector, or a plain blocking read when only
one pipe is open). Timeouts raise the stdlib's ``TimeoutExpired``, and a
``communicate`` interrupted by one can be called again to carry on, as with
the stdlib.

``run``, ``call``, ``check_call``, ``check_output``, ``getoutput`` and
``getstatusoutput`` are the stdlib's own code, which looks ``Popen`` up at
call time: patching ``subprocess.Popen`` makes them green. Used without
patching, they come from a private copy of ``subprocess`` whose ``Popen`` is
this one (its exceptions and ``CompletedProcess`` stay the stdlib's).
"""

from __future__ import annotations

import io
import os as _os_module
import subprocess as _std
from types import ModuleType
from typing import IO, Any, Final

from .._core import check_timeout, monotonic
from ..greenio import GreenPipe
from ..greenthread import GreenThread, spawn
from . import _child as _green_os
from ._copies import load_copy

__implements__: Final = ("Popen",)

# How much a draining green thread reads at a time (the stdlib's _communicate reads 32 KiB).
_CHUNK: Final = 32768

# The stdlib's names that must stay the same objects in the private copy.
_SHARED: Final = (
    "CalledProcessError",
    "CompletedProcess",
    "SubprocessError",
    "TimeoutExpired",
    "PIPE",
    "STDOUT",
    "DEVNULL",
)


def _green_file(f: IO[Any] | None, writing: bool, bufsize: int) -> IO[Any] | None:
    """A green file object like ``f`` (a pipe Popen opened) over a duplicate of its fd; ``f`` is closed."""
    if f is None:
        return None
    mode = "wb" if writing else "rb"
    # Popen's rule: 1 means line buffering (text) and otherwise the default size.
    size = -1 if bufsize == 1 or bufsize < 0 else bufsize
    if isinstance(f, io.TextIOWrapper):
        green: IO[Any] = io.TextIOWrapper(
            GreenPipe(f.buffer, mode, size if size else -1),
            encoding=f.encoding,
            errors=f.errors,
            line_buffering=f.line_buffering,
            write_through=f.write_through,
        )
    else:
        green = GreenPipe(f, mode, 0 if isinstance(f, io.FileIO) else size)
    f.close()
    return green


def _blocking_for_child(target: Any) -> None:
    """Make an fd handed to a child blocking: O_NONBLOCK lives on the file shared with the child.

    A green pipe (``proc.stdout`` passed as the next process's stdin) is
    non-blocking, and a child reading a non-blocking stdin fails with EAGAIN.
    """
    if target is None or (isinstance(target, int) and target < 0):
        return
    try:
        fd = target if isinstance(target, int) else target.fileno()
        if not _os_module.get_blocking(fd):
            _os_module.set_blocking(fd, True)
    except (AttributeError, OSError, ValueError):  # not a file (io.StringIO...): Popen will say so
        pass


def _raw(f: IO[Any]) -> Any:
    """The raw green file under ``f``: reading it never holds a buffer's lock across a wait."""
    inner: Any = f
    if isinstance(inner, io.TextIOWrapper):
        inner = inner.buffer
    return getattr(inner, "raw", inner)


_Io = GreenThread[Any] | None  # a pipe's feeding or draining green thread, if it has a pipe


class Popen(_std.Popen):  # type: ignore[type-arg]
    """``subprocess.Popen`` whose pipes, ``wait`` and ``communicate`` park only the green thread."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._green_io: tuple[_Io, _Io, _Io] | None = None
        for name in ("stdin", "stdout", "stderr"):
            _blocking_for_child(kwargs.get(name))
        super().__init__(*args, **kwargs)
        bufsize = kwargs.get("bufsize", args[1] if len(args) > 1 else -1)
        bufsize = -1 if bufsize is None else bufsize
        self.stdin = _green_file(self.stdin, True, bufsize)
        self.stdout = _green_file(self.stdout, False, bufsize)
        self.stderr = _green_file(self.stderr, False, bufsize)

    def _try_wait(self, wait_flags: int) -> tuple[int, int]:
        waitpid = _os_module.waitpid  # the os module's at call time: patched, or replaced by a test
        if waitpid is _green_os._waitpid:  # the blocking original: wait the green way instead
            waitpid = _green_os.waitpid
        try:
            return waitpid(self.pid, wait_flags)
        except ChildProcessError:
            # Someone else reaped it (a SIGCHLD handler set to SIG_IGN, another waiter): the stdlib's answer.
            return self.pid, 0

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the child to end (parking this green thread); ``TimeoutExpired`` after ``timeout``."""
        if timeout is not None:
            timeout = check_timeout(timeout, "Popen.wait() timeout")
        return super().wait(timeout)

    def _wait(self, timeout: float | None) -> int:
        if self.returncode is not None:
            return self.returncode
        if timeout is None:
            self._reap()
        else:
            waiter = spawn(self._reap)
            try:
                waiter.result(max(0.0, timeout))
            except TimeoutError:
                waiter.kill()
                # The waiter may have reaped the child in the very pass the timeout fired
                # (always so for timeout=0 and a child already gone): then that is the answer.
                if self.returncode is None:
                    raise _std.TimeoutExpired(self.args, timeout) from None
        return self.returncode  # type: ignore[return-value]

    def _reap(self) -> None:
        # The status is recorded as soon as it is reaped, before anything else can run:
        # a poll() in between would find the child gone and settle on returncode 0.
        pid, status = self._try_wait(0)
        if self.returncode is None and pid == self.pid:
            self._handle_exitstatus(status)  # type: ignore[attr-defined]

    def communicate(self, input: Any = None, timeout: float | None = None) -> tuple[Any, Any]:
        """Send ``input``, read stdout and stderr to the end, wait for the child; ``(stdout, stderr)``.

        Raises ``TimeoutExpired`` after ``timeout`` seconds; calling again
        carries on where it stopped.
        """
        if timeout is not None:
            timeout = check_timeout(timeout, "Popen.communicate() timeout")
        started: bool = getattr(self, "_communication_started", False)
        if started and input:
            raise ValueError("Cannot send input after starting communication")
        deadline = None if timeout is None else monotonic() + timeout
        if self._green_io is None:
            self._communication_started = True
            self._green_out: tuple[list[bytes], list[bytes]] = ([], [])
            self._green_io = (
                spawn(self._feed, input) if self.stdin is not None else None,
                spawn(self._drain, self.stdout, self._green_out[0]) if self.stdout is not None else None,
                spawn(self._drain, self.stderr, self._green_out[1]) if self.stderr is not None else None,
            )
        results: list[Any] = []
        for gt in self._green_io:
            if gt is None:
                results.append(None)
                continue
            try:
                results.append(gt.result(None if deadline is None else max(0.0, deadline - monotonic())))
            except TimeoutError:
                out, err = (b"".join(chunks) if chunks else None for chunks in self._green_out)
                raise _std.TimeoutExpired(self.args, timeout or 0.0, output=out, stderr=err) from None
        try:
            self.wait(None if deadline is None else max(0.0, deadline - monotonic()))
        except _std.TimeoutExpired:
            raise _std.TimeoutExpired(self.args, timeout or 0.0) from None
        return results[1], results[2]

    def _feed(self, data: Any) -> None:
        stdin = self.stdin
        assert stdin is not None
        try:
            stdin.flush()  # what the caller wrote before communicate()
            if data and not isinstance(stdin, io.IOBase):  # not a file we made (a test's mock)
                stdin.write(data)
            elif data:
                if isinstance(stdin, io.TextIOWrapper):
                    data = data.encode(stdin.encoding, stdin.errors)
                raw, view = _raw(stdin), memoryview(data)
                while view:
                    view = view[raw.write(view):]
        except BrokenPipeError:
            pass  # the child exited without reading it all, as the stdlib allows
        try:
            stdin.close()
        except BrokenPipeError:
            pass

    def _drain(self, f: IO[Any], chunks: list[bytes]) -> Any:
        # Read the raw green file, not the buffered one: the with-block or a
        # kill may close the pipe while this thread waits, which a buffered
        # reader would refuse ("reentrant call") instead of ending the read.
        raw = _raw(f)
        try:
            while chunk := raw.read(_CHUNK):
                chunks.append(chunk)
        except (ValueError, OSError):  # closed under us (IOClosed is an OSError)
            pass
        data = b"".join(chunks)
        try:
            f.close()
        except (ValueError, OSError):
            pass
        if isinstance(f, io.TextIOWrapper):
            return self._translate_newlines(data, f.encoding, f.errors)  # type: ignore[attr-defined]
        return data


_copy: list[ModuleType] = []


def _private_copy() -> ModuleType:
    """``subprocess`` run again with this module's ``Popen`` (built once, on first use)."""
    if not _copy:
        copy = load_copy("subprocess", "greenlane.green._subprocess", {})
        for name in _SHARED:
            setattr(copy, name, getattr(_std, name))
        setattr(copy, "Popen", Popen)  # noqa: B010  (a module made at run time)
        _copy.append(copy)
    return _copy[0]


def __getattr__(name: str) -> Any:
    """``subprocess``'s other names: the real module's once patched, else the private copy's."""
    if name.startswith("__"):
        raise AttributeError(name)
    return getattr(_std if _std.Popen is Popen else _private_copy(), name)
