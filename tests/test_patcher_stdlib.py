"""CPython's own tests of select, queue, _thread, threading.local and time pass under monkey_patch().

Runs the CI subset of ``tests/patching/_stdlib_compat.py`` (each module in a
fresh, patched interpreter) against the floors committed in
``tests/patching/stdlib_baselines.json``.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Final

import pytest

from helpers import MONKEY_PATCH, native_hub_only

HERE = Path(__file__).parent / "patching"
# The subset takes about 15 s; this only bounds a hang.
LIMIT = 600


def _missing_stdlib_tests() -> list[str]:
    """The CI subset's modules of CPython's own ``test`` package that this interpreter lacks."""
    spec = importlib.util.spec_from_file_location("_stdlib_compat", HERE / "_stdlib_compat.py")
    assert spec is not None and spec.loader is not None
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)
    try:
        return [m for m in runner.CI_SUBSET if importlib.util.find_spec(f"test.{m}") is None]
    except ModuleNotFoundError:  # no `test` package at all
        return list(runner.CI_SUBSET)


MISSING: Final = _missing_stdlib_tests()
DEBIAN_PACKAGE: Final = f"libpython{sys.version_info[0]}.{sys.version_info[1]}-testsuite"


# Some distributions ship CPython's own tests apart (Debian, Ubuntu: libpython3.X-testsuite).
@pytest.mark.skipif(
    bool(MISSING),
    reason=f"CPython's own tests ({', '.join(MISSING)}) are not installed for {sys.executable} "
    f"(on Debian: apt install {DEBIAN_PACKAGE})",
)
@native_hub_only(MONKEY_PATCH)
def test_ci_subset_meets_its_floors() -> None:
    command = [sys.executable, str(HERE / "_stdlib_compat.py"), "--ci"]
    command += ["--check", str(HERE / "stdlib_baselines.json")]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=LIMIT, check=False)
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    assert "| test_queue |" in proc.stdout and "| total |" in proc.stdout
