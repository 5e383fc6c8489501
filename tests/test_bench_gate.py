"""The CI benchmark gate (``benchmarks/gate.py``): its verdict rule and its slowed copy.

The gate itself takes minutes (``python -m benchmarks.gate --demo`` shows it
fire on a slowed copy); here only its parts that decide: a workload fails only
when two consecutive measurements are over the limit, and the slowed copy
really pays its busy-wait on every greenlet switch.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from benchmarks import gate

REPO_ROOT = Path(__file__).resolve().parents[1]
BASELINE = {"ratios": {"switch": 0.4, "queue": 0.3}}


def _fake_measure(monkeypatch: pytest.MonkeyPatch, ratios: dict[str, list[float]]) -> list[str]:
    """Make ``gate.measure`` return the given ratios in turn; returns the workloads measured."""
    calls: list[str] = []
    left: dict[str, Iterator[float]] = {w: iter(r) for w, r in ratios.items()}

    def measure(_python: str, workload: str, pairs: int, _env: dict[str, str]) -> gate.Measurement:
        calls.append(workload)
        ratio = next(left[workload])
        return gate.Measurement(workload, (ratio,) * pairs, (1.0,) * pairs)

    monkeypatch.setattr(gate, "measure", measure)
    return calls


def test_within_the_limit_passes_without_measuring_again(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _fake_measure(monkeypatch, {"switch": [0.4 * 1.29], "queue": [0.1]})
    assert gate.run_gate("python", BASELINE, ["switch", "queue"], 3, {})
    assert calls == ["switch", "queue"]


def test_one_measurement_over_the_limit_is_measured_again_and_forgiven(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _fake_measure(monkeypatch, {"switch": [0.4 * 1.5, 0.4], "queue": [0.3]})
    assert gate.run_gate("python", BASELINE, ["switch", "queue"], 3, {})
    assert calls == ["switch", "switch", "queue"]


def test_two_consecutive_measurements_over_the_limit_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _fake_measure(monkeypatch, {"switch": [0.3], "queue": [0.3 * 1.31, 0.3 * 1.4]})
    assert not gate.run_gate("python", BASELINE, ["switch", "queue"], 3, {})
    assert calls == ["switch", "queue", "queue"]


def test_the_slowed_copy_busy_waits_on_every_switch(tmp_path: Path) -> None:
    src = gate.slowed_copy(tmp_path, 20e-6, REPO_ROOT / "src")
    # A lower bound, so load on the machine cannot make it fail: 200 switches of at
    # least 20 us each take at least 4 ms.
    script = (
        "import time, greenlane, greenlet\n"
        f"assert greenlane.__file__.startswith({str(src)!r}), greenlane.__file__\n"
        "other = greenlet.greenlet(lambda: [greenlet.getcurrent().parent.switch() for _ in iter(int, 1)])\n"
        "t0 = time.perf_counter()\n"
        "for _ in range(100):\n"
        "    other.switch()\n"
        "print(time.perf_counter() - t0)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(src))
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert float(out) >= 200 * 20e-6
