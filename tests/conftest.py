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
