"""The examples the README points to run to completion and show what they claim."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from helpers import MONKEY_PATCH, SUBPROCESS_TIMEOUT, native_hub_only

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _run(name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        check=False,
        stdin=subprocess.DEVNULL,
    )


@native_hub_only(MONKEY_PATCH)
def test_compute_node_runs_two_hundred_migrations_concurrently() -> None:
    proc = _run("compute_node.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = proc.stdout.strip().splitlines()[-1]
    match = re.search(r"200 live migrations of 0.5 s each finished in ([\d.]+) s", summary)
    assert match, summary
    # Serially they would take 100 s; concurrently about 0.5 s plus the burst of
    # HTTP set-up. The bound is loose for slow CI machines, not a timing claim.
    assert float(match.group(1)) < 10, summary
    assert "400 retries" in summary and "20 reboots" in summary, summary
    assert "Traceback" not in proc.stderr, proc.stderr


def test_crawl_example_runs() -> None:
    proc = _run("crawl.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_hello_example_runs() -> None:
    proc = _run("hello.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "gave up waiting after 0.1 s" in proc.stdout


def test_asyncio_bridge_example_crosses_both_ways_concurrently() -> None:
    proc = _run("asyncio_bridge.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 2, proc.stdout
    assert "['user0: ok', 'user1: ok', 'user2: ok', 'user3: ok', 'user4: ok']" in lines[0]
    assert "['item0: ok', 'item1: ok', 'item2: ok', 'item3: ok', 'item4: ok']" in lines[1]
    for line in lines:  # five 0.2 s requests at once: about 0.2 s; serially 1 s (loose bound for CI)
        assert float(re.search(r"in ([\d.]+) s$", line).group(1)) < 0.9, line  # type: ignore[union-attr]
    assert proc.stderr == "", proc.stderr
