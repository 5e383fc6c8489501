"""The benchmarks cannot rot: every workload runs once, tiny, through the worker entry point.

One fresh ``python -m benchmarks.worker FRAMEWORK all smoke`` per framework, as
the benchmark runner starts them; every workload must pass its check. Peers are
benchmark-only dependencies: a missing one is skipped, greenlane never is.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from helpers import MONKEY_PATCH, native_hub_only

REPO_ROOT = Path(__file__).resolve().parents[1]
WORKLOADS_DIR = REPO_ROOT / "benchmarks" / "workloads"
# framework -> the module it needs
PEERS = {
    "greenlet": "greenlet",
    "eventlet": "eventlet",
    "gevent": "gevent",
    "asyncio": "asyncio",
    "uvloop": "uvloop",
    "uvloop-protocol": "uvloop",
}
# All workloads at smoke size take well under a second per framework (timers
# sleeps about 120 ms); the timeout only turns a hang into a failure.
TIMEOUT_S = 60


def _run_worker(
    framework: str, workload: str = "all"
) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.worker", framework, workload, "smoke"],
        check=False,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        stdin=subprocess.DEVNULL,
    )
    records = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return proc, records


@pytest.mark.parametrize("framework", ["greenlane", "greenlane-asyncio", *PEERS])
def test_every_workload_runs_and_passes_its_check(framework: str) -> None:
    if framework in PEERS and importlib.util.find_spec(PEERS[framework]) is None:
        pytest.skip(f"{framework} is not installed (a benchmark-only dependency: '.[bench]')")
    proc, records = _run_worker(framework)

    assert records, f"no result from the worker (exit {proc.returncode}):\n{proc.stderr}"
    for record in records:
        assert record["error"] is None, f"{record['workload']}: {record['error']}\n{proc.stderr}"
        assert record["check"]["ok"], f"{record['workload']}: check failed: {record['check']}"
    assert proc.returncode == 0, proc.stderr
    if framework == "greenlane":
        # One module per workload; greenlane, the subject, must run every one.
        modules = {p.stem for p in WORKLOADS_DIR.glob("*.py") if not p.stem.startswith("_")}
        assert {r["workload"] for r in records} == modules
    if framework == "greenlane-asyncio":  # greenlane's code on the asyncio hub: the four it claims
        assert {r["workload"] for r in records} == {"switch", "yield_rr", "echo", "http"}


@pytest.mark.parametrize(
    "framework",
    [
        # greenlane's worker calls monkey_patch in the gunicorn process (refused on the asyncio hub)
        pytest.param("gunicorn-green", marks=native_hub_only(f"the gunicorn worker: {MONKEY_PATCH}")),
        "gunicorn-sync",
    ],
)
def test_the_gunicorn_columns_of_the_wsgi_workload_run(framework: str) -> None:
    # gunicorn-sync closes every connection: the client reconnects per request (http-close).
    missing = [name for name in ("gunicorn", "psutil") if importlib.util.find_spec(name) is None]
    if missing:  # psutil reads the gunicorn master's and workers' CPU
        pytest.skip(f"{' and '.join(missing)} not installed (benchmark-only dependencies: '.[bench]')")
    proc, records = _run_worker(framework, "wsgi")

    assert [r["workload"] for r in records] == ["wsgi"], proc.stderr
    (record,) = records
    assert record["error"] is None, f"{record['error']}\n{proc.stderr}"
    assert record["check"]["ok"], record["check"]
    assert record["metrics"]["req_per_s"] > 0
