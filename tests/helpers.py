"""Helpers shared by the tests."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

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
