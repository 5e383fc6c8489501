"""Cooperative ``http`` package: ``client``, ``server``, ``cookiejar`` and ``cookies`` over green sockets.

The package's own names (``HTTPStatus``, ``HTTPMethod``) are the stdlib's.
The submodules load on first use, so ``import greenlane.green.http`` costs
nothing, and a copied stdlib module's ``import http.client`` (which binds
``http``) reaches the green ``client`` through this package.
"""

from __future__ import annotations

import http as _std
import importlib
from typing import Final

__all__ = list(_std.__all__)

HTTPStatus: Final = _std.HTTPStatus
if hasattr(_std, "HTTPMethod"):  # Python 3.11+
    HTTPMethod: Final = _std.HTTPMethod

_SUBMODULES: Final = frozenset({"client", "server", "cookiejar", "cookies"})


def __getattr__(name: str) -> object:
    """The green submodules, imported on first use (nothing else falls through to ``http``)."""
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
