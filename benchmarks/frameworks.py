"""The frameworks under comparison, and how a worker imports them.

Peers are benchmark dependencies only: a worker imports exactly one framework,
lazily, so a missing peer costs nothing but its column. greenlane comes from the
installed package, or from ``<repo>/src`` when it is not installed.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import platform
import sys
import warnings
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Final, TypeVar

T = TypeVar("T")

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
SRC_DIR: Final = REPO_ROOT / "src"


@dataclass(frozen=True, slots=True)
class Framework:
    """One column of the report."""

    name: str  # what ``--frameworks`` and the worker take
    module: str  # the import that must succeed for the framework to be available
    label: str  # column header


SUBJECT: Final = "greenlane"
ON_ASYNCIO: Final = "greenlane-asyncio"
FLOOR: Final = "greenlet"

# Column order; the runner interleaves samples in this order too.
FRAMEWORKS: Final = (
    Framework(SUBJECT, "greenlane", "greenlane"),
    # greenlane's own code on the asyncio hub (greenlane.hubs.asyncio driving asyncio's default loop):
    # switch, yield_rr, echo and http only.
    Framework(ON_ASYNCIO, "greenlane", "greenlane on asyncio"),
    Framework(FLOOR, "greenlet", "greenlet (floor)"),
    Framework("eventlet", "eventlet", "eventlet"),
    Framework("gevent", "gevent", "gevent"),
    Framework("asyncio", "asyncio", "asyncio"),
    Framework("uvloop", "uvloop", "asyncio + uvloop"),
    # echo only: uvloop at its fastest (a Protocol, no streams), the issue-16 reference.
    Framework("uvloop-protocol", "uvloop", "uvloop Protocol"),
    # gunicorn's process model, wsgi workload only: greenlane's worker class with one
    # and two worker processes (pre-fork: one hub per process), and gunicorn's default
    # sync worker, which closes every connection after its response: it is loaded
    # without keep-alive (a new connection per request), so its figures are not
    # comparable with the keep-alive columns.
    Framework("gunicorn-green", "gunicorn", "gunicorn GreenWorker -w 1"),
    Framework("gunicorn-green-w2", "gunicorn", "gunicorn GreenWorker -w 2"),
    Framework("gunicorn-sync", "gunicorn", "gunicorn sync -w 1 (no keep-alive)"),
)
BY_NAME: Final = {fw.name: fw for fw in FRAMEWORKS}


class GreenlaneIncomplete(ImportError):
    """``greenlane`` imports but lacks the public API the benchmarks use."""


def import_greenlane() -> ModuleType:
    """Import greenlane, installed or from ``<repo>/src``, and check it has ``spawn``."""
    try:
        module = importlib.import_module("greenlane")
    except ImportError:
        sys.path.insert(0, str(SRC_DIR))
        module = importlib.import_module("greenlane")
    if not hasattr(module, "spawn"):
        # An empty src/greenlane imports as a namespace package.
        raise GreenlaneIncomplete(f"greenlane at {_origin(module)} has no spawn()")
    return module


def load(name: str) -> ModuleType:
    """Import ``name`` (a framework module or one of its submodules) for a workload."""
    top = name.partition(".")[0]
    if top == "greenlane":
        import_greenlane()
        return importlib.import_module(name)
    with warnings.catch_warnings():
        # eventlet warns on import that it is deprecated; that is not our news.
        warnings.simplefilter("ignore")
        return importlib.import_module(name)


def on_asyncio(main: Callable[[int], Coroutine[Any, Any, T]]) -> Callable[[int], T]:
    """``main(size)`` run with ``asyncio.run``, the stock loop."""
    import asyncio

    return lambda size: asyncio.run(main(size))


def on_uvloop(main: Callable[[int], Coroutine[Any, Any, T]]) -> Callable[[int], T]:
    """``main(size)`` run with ``uvloop.run``, the way uvloop's docs say to."""

    def run(size: int) -> T:
        result: T = load("uvloop").run(main(size))
        return result

    return run


def on_greenlane_asyncio(run: Callable[[int], T]) -> Callable[[int], T]:
    """greenlane's implementation ``run``, on the asyncio hub (greenlane starts and drives the loop)."""

    def wrapped(size: int) -> T:
        hubs = load("greenlane.hubs")
        hubs.use_hub("asyncio")
        try:
            return run(size)
        finally:
            hubs.use_hub(None)

    return wrapped


def _origin(module: ModuleType) -> str:
    path = getattr(module, "__file__", None) or next(iter(getattr(module, "__path__", [])), "?")
    return str(path)


def describe(name: str) -> dict[str, str]:
    """Probe one framework: ``status`` is ``ok``, ``not installed`` or ``import failed``."""
    fw = BY_NAME[name]
    try:
        module = load(fw.module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and exc.name.partition(".")[0] == fw.module:
            return {"status": "not installed", "detail": str(exc)}
        return {"status": "import failed", "detail": f"{type(exc).__name__}: {exc}"}
    except Exception as exc:  # any import failure is a finding to report, not to hide
        return {"status": "import failed", "detail": f"{type(exc).__name__}: {exc}"}
    if fw.module == "asyncio":
        version = f"CPython {platform.python_version()}"
    else:
        version = str(getattr(module, "__version__", "") or _dist_version(fw.module))
    return {"status": "ok", "version": version, "origin": _origin(module)}


def _dist_version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"
