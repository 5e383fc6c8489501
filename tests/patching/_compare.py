"""Run every patching scenario under greenlane, eventlet, gevent and unpatched; print a Markdown table.

    python tests/patching/_compare.py [scenario ...]

Each cell is ``pass``, or the first failed check (``FAILED: ...``), the last
line of a crash, or ``hang`` (no result within the time limit).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
RUNTIMES = ("greenlane", "eventlet", "gevent", "none")
# Generous: a scenario takes a few seconds; this only bounds a hang.
TIME_LIMIT = 60


def run(scenario: Path, runtime: str) -> str:
    env = {**os.environ, "SCENARIO_RUNTIME": runtime, "PYTHONWARNINGS": "ignore"}
    try:
        proc = subprocess.run(
            [sys.executable, str(scenario)], capture_output=True, text=True, timeout=TIME_LIMIT, env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return "hang"
    if proc.returncode == 0 and proc.stdout.splitlines()[-1:] == ["pass"]:
        return "pass"
    for line in proc.stderr.splitlines():
        if line.startswith("FAILED: "):
            return line[len("FAILED: "):][:70]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    return (lines[-1] if lines else f"exit {proc.returncode}")[:70]


def main(names: list[str]) -> None:
    scenarios = [HERE / f"{n}.py" for n in names] or sorted(
        p for p in HERE.glob("*.py") if not p.name.startswith("_")
    )
    print("| scenario | " + " | ".join(RUNTIMES) + " |")
    print("| --- " * (len(RUNTIMES) + 1) + "|")
    for scenario in scenarios:
        cells = [run(scenario, runtime).replace("|", "/") for runtime in RUNTIMES]
        print(f"| {scenario.stem} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
