"""Helpers shared by the tests."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

# Generous: CI machines are shared and slow; this bounds hangs, it does not time work.
SUBPROCESS_TIMEOUT = 60


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


MONKEY_PATCH = (
    "monkey_patch with the asyncio hub is not supported yet (asyncio's own loop would run on the "
    "patched selectors)"
)
ON_ASYNCIO_HUB = os.environ.get("GREENLANE_HUB", "").strip().lower() == "asyncio"


def native_hub_only(reason: str) -> pytest.MarkDecorator:
    """Skip a test on the asyncio hub (GREENLANE_HUB=asyncio, .ci/asyncio-hub), saying why."""
    return pytest.mark.skipif(ON_ASYNCIO_HUB, reason=f"native pollers only: {reason}")
