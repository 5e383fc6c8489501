"""Every test runs on a fresh hub and fails if it leaves timers, fd waits or green threads behind."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest

from greenlane.testing import fresh_hub

# Generous: CI machines are shared and slow; these bound hangs, they do not time work.
SUBPROCESS_TIMEOUT = 60


@pytest.fixture(autouse=True)
def _fresh_hub(request: pytest.FixtureRequest) -> Iterator[None]:
    if "virtual_clock" in request.fixturenames or "hub" in request.fixturenames:
        yield  # those fixtures make (and check) their own hub
        return
    with fresh_hub():
        yield


def run_script(code: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter; returns the finished process (text output)."""
    full_env = dict(os.environ)
    full_env.pop("GREENLANE_HUB", None)
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        env=full_env,
        check=False,
    )
