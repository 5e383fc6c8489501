"""Cooperative versions of stdlib modules: ``greenlane.green.socket``, ``.ssl``, ``.select``, ...

Each module declares the names it replaces in ``__implements__`` and falls
through to the stdlib module for everything else, so
``from greenlane.green import socket`` can stand in for ``import socket``.
Importing them patches nothing; ``greenlane.monkey_patch()`` installs them.

The submodules load on first use, so after ``import greenlane.green`` the
name ``greenlane.green.socket`` works (Flask-SocketIO reads it that way, as
eventlet's package had imported it already) without this package importing
``ssl`` or ``http`` for programs that never use them.
"""

from __future__ import annotations

import importlib
from typing import Final

# Every green module; ``zmq`` exists only with pyzmq installed.
SUBMODULES: Final = frozenset({
    "ftplib",
    "http",
    "os",
    "profile",
    "queue",
    "select",
    "selectors",
    "signal",
    "socket",
    "socketserver",
    "ssl",
    "subprocess",
    "thread",
    "threading",
    "time",
    "urllib",
    "zmq",
})


def __getattr__(name: str) -> object:
    """The green submodules, imported on first use."""
    if name in SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
