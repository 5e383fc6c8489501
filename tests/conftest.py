"""Every test runs on a fresh hub and fails if it leaves timers, fd waits or green threads behind."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from greenlane.hubs import get_hub
from greenlane.testing import fresh_hub


@pytest.fixture(autouse=True)
def _fresh_hub(request: pytest.FixtureRequest) -> Iterator[None]:
    if "virtual_clock" in request.fixturenames or "hub" in request.fixturenames:
        yield  # those fixtures make (and check) their own hub
        return
    with fresh_hub():
        yield


def _open_fds() -> set[int]:
    """The open fds (including the one listing them, the lowest free number: the same every time)."""
    return {int(name) for name in os.listdir("/proc/self/fd")}


@pytest.fixture
def no_fd_or_registration_left() -> Iterator[None]:
    """After the test: every fd it opened is closed and the hub waits on none (I/O test modules use it)."""
    has_proc = os.path.isdir("/proc/self/fd")
    before = _open_fds() if has_proc else set()
    yield
    hub = get_hub()
    assert not hub.io.registered, f"fds left registered with the hub: {sorted(hub.io.registered)[:20]}"
    stats = hub.statistics()
    assert (stats.readers, stats.writers, stats.timers) == (0, 0, 0), stats
    if has_proc:
        leaked = _open_fds() - before
        assert not leaked, f"fds left open: {sorted(leaked)[:20]}"


def _patched_stdlib() -> list[str]:
    """Stdlib names that are not the interpreter's own: the in-process suite must patch nothing."""
    import _thread
    import select
    import socket
    import threading
    import time

    from greenlane import patcher

    found = [f"{name} (registry)" for name, saved in patcher._saved.items() if saved]
    if type(time.sleep).__name__ != "builtin_function_or_method":
        found.append("time.sleep")
    if type(_thread.start_new_thread).__name__ != "builtin_function_or_method":
        found.append("_thread.start_new_thread")
    # threading's module-level aliases of _thread (3.13 replaced _start_new_thread by
    # _start_joinable_thread): each one the interpreter has must be _thread's own.
    for alias, name in (
        ("_start_new_thread", "start_new_thread"),
        ("_start_joinable_thread", "start_joinable_thread"),
        ("_allocate_lock", "allocate_lock"),
    ):
        if hasattr(threading, alias) and getattr(threading, alias) is not getattr(_thread, name, None):
            found.append(f"threading.{alias}")
    if type(threading.get_ident).__name__ != "builtin_function_or_method":
        found.append("threading.get_ident")
    if socket.socket.__module__ != "socket":
        found.append("socket.socket")
    if hasattr(select, "epoll") and select.epoll.__module__ != "select":
        found.append("select.epoll")
    return found


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    patched = _patched_stdlib()
    if patched:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = f"the in-process test suite patched the stdlib: {', '.join(patched)}"
        if reporter is not None:
            reporter.write_line(message, red=True)
        else:
            print(message)
