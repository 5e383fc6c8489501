"""Cooperative ``urllib`` package: ``request`` over green ``http.client``, ``ftplib`` and ``socket``.

``parse``, ``error`` and ``response`` never wait, so they are the stdlib's
modules' names. The submodules load on first use (see
``greenlane.green.http``).
"""

from __future__ import annotations

import importlib
from typing import Final

_SUBMODULES: Final = frozenset({"error", "parse", "request", "response", "robotparser"})


def __getattr__(name: str) -> object:
    """The green submodules, imported on first use."""
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
