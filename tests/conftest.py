"""Every test runs on a fresh hub and fails if it leaves timers, fd waits or green threads behind."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from greenlane.testing import fresh_hub


@pytest.fixture(autouse=True)
def _fresh_hub(request: pytest.FixtureRequest) -> Iterator[None]:
    if "virtual_clock" in request.fixturenames or "hub" in request.fixturenames:
        yield  # those fixtures make (and check) their own hub
        return
    with fresh_hub():
        yield


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
    if threading._start_new_thread is not _thread.start_new_thread:  # type: ignore[attr-defined]
        found.append("threading._start_new_thread")
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
