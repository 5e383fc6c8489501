"""pytest plugin for eventlet's own tests under the alias: one failure is counted once.

eventlet's ``LimitedTestCase.tearDown`` fails a test when the hub still has fd
waiters, so a test that fails half-way (leaving, say, a server green thread
blocked in ``accept``) would fail every test after it in the same process. After
a test that failed, this kills the green threads still waiting on fds, so the
next test starts on an empty hub as it would under eventlet. A test that passes
is left alone: a leak there is still caught by eventlet's own check.
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
