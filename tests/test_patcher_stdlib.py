"""CPython's own tests of select, queue, _thread, threading.local and time pass under monkey_patch().

Runs the CI subset of ``tests/patching/_stdlib_compat.py`` (each module in a
fresh, patched interpreter) against the floors committed in
``tests/patching/stdlib_baselines.json``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent / "patching"
# The subset takes about 15 s; this only bounds a hang.
LIMIT = 600


def test_ci_subset_meets_its_floors() -> None:
    command = [sys.executable, str(HERE / "_stdlib_compat.py"), "--ci"]
    command += ["--check", str(HERE / "stdlib_baselines.json")]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=LIMIT, check=False)
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    assert "| test_queue |" in proc.stdout and "| total |" in proc.stdout
