"""Shared prologue of the patching scenarios: which runtime patches (SCENARIO_RUNTIME), and checks.

Each scenario runs in a fresh interpreter and prints ``pass``. SCENARIO_RUNTIME
is ``greenlane`` (the default; the test suite), or ``eventlet``, ``gevent``
or ``none`` (unpatched) for the comparison table in the docs.
"""

from __future__ import annotations

import os
import sys
from typing import Any

RUNTIME = os.environ.get("SCENARIO_RUNTIME", "greenlane")


def patch(**keywords: Any) -> None:
    """Monkey-patch with the runtime under test (eventlet's keywords; gevent maps them)."""
    if RUNTIME == "greenlane":
        import greenlane

        greenlane.monkey_patch(**keywords)
    elif RUNTIME == "eventlet":
        import warnings

        warnings.simplefilter("ignore", DeprecationWarning)
        import eventlet

        eventlet.monkey_patch(**keywords)
    elif RUNTIME == "gevent":
        from gevent import monkey

        known = ("os", "thread", "time", "socket", "select", "subprocess", "signal")
        monkey.patch_all(**{k: v for k, v in keywords.items() if k in known})
    elif RUNTIME != "none":
        raise SystemExit(f"unknown SCENARIO_RUNTIME {RUNTIME!r}")


def same_os_thread() -> bool:
    """True when called from the main OS thread (a green thread runs there)."""
    import _thread

    return _thread.get_native_id() == MAIN_NATIVE_ID


def check(condition: object, what: str) -> None:
    """Fail the scenario (exit 1, message on stderr) unless ``condition``."""
    if not condition:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.stdout.flush()
        os._exit(1)


import _thread as _t  # noqa: E402

MAIN_NATIVE_ID = _t.get_native_id()
PATCHED = RUNTIME != "none"
