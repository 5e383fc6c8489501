"""Cooperative versions of stdlib modules: ``greenlane.green.socket``, ``.ssl``, ``.select``, ...

Each module declares the names it replaces in ``__implements__`` and falls
through to the stdlib module for everything else, so
``from greenlane.green import socket`` can stand in for ``import socket``.
Importing them patches nothing; ``greenlane.monkey_patch()`` installs them.

As in eventlet's package, a submodule is also an attribute of this package
once asked for (``greenlane.green.socket`` after ``import greenlane.green``),
loaded on first use so that ``import greenlane.green`` stays cheap; eventlet's
Python 2 module names (``Queue``, ``httplib``, ...) name their Python 3
modules.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Final

# eventlet's Python 2 era names -> the module here that stands for them.
PY2_NAMES: Final = {
    "Queue": "queue",
    "httplib": "http.client",
    "urllib2": "urllib.request",
    "BaseHTTPServer": "http.server",
    "SimpleHTTPServer": "http.server",
    "CGIHTTPServer": "http.server",
    "SocketServer": "socketserver",
}


def __getattr__(name: str) -> ModuleType:
    """Load submodule ``name`` (or the module an eventlet Python 2 name stands for) on first use."""
    if name.startswith("__"):
        raise AttributeError(name)
    try:
        module = importlib.import_module(f"{__name__}.{PY2_NAMES.get(name, name)}")
    except ModuleNotFoundError as exc:
        if exc.name is not None and not exc.name.startswith(f"{__name__}."):
            raise  # the green module exists, but something it needs does not
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    globals()[name] = module
    return module
