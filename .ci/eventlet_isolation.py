"""pytest plugin for eventlet's own tests under the alias: one failure is counted once.

eventlet's ``LimitedTestCase.tearDown`` fails a test when the hub still has fd
waiters, so a test that fails half-way (leaving, say, a server green thread
blocked in ``accept``) would fail every test after it in the same process. After
a test that failed, this kills the green threads still waiting on fds, so the
next test starts on an empty hub as it would under eventlet. A test that passes
is left alone: a leak there is still caught by eventlet's own check.

Before each test, fd waiters that earlier tests left behind (a subprocess
test's pipe readers, say, whose child has exited but whose end of file the hub
has not seen yet on a loaded machine) are given up to ``SETTLE`` seconds of the
hub's time to end by themselves; eventlet's ``tearDown`` runs one
``sleep(0)`` and would blame the next test for them. Nothing is killed there:
a waiter that does not end still fails the test, as before.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Generator[None, Any, None]:
    """Remember that ``item`` failed."""
    outcome = yield
    if outcome.get_result().failed:
        item.stash[_FAILED] = True


SETTLE = 2.0  # seconds of hub time for waiters left by earlier tests; a bound, not a guess


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Let fd waiters left by earlier tests end before this test starts (bounded by ``SETTLE``)."""
    import time

    import greenlane
    from greenlane import hubs

    hub = hubs.get_hub()
    deadline = time.monotonic() + SETTLE
    while (hub.get_readers() or hub.get_writers()) and time.monotonic() < deadline:
        greenlane.sleep(0.01)


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """After a failed test, kill the green threads it left waiting on fds."""
    if not item.stash.get(_FAILED, False):
        return
    import greenlane
    from greenlane import hubs

    hub = hubs.get_hub()
    for listener in [*hub.get_readers(), *hub.get_writers()]:
        glet = getattr(listener, "greenlet", None)
        if glet is not None and not glet.dead:
            greenlane.kill(glet)
    greenlane.sleep(0)


_FAILED = pytest.StashKey[bool]()
