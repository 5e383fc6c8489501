"""``urllib.response`` for green code: the stdlib's module itself (it never waits)."""

from __future__ import annotations

import urllib.response as _std
from typing import Any

__all__ = list(_std.__all__)


def __getattr__(name: str) -> Any:
    """Every name is the stdlib's own."""
    return getattr(_std, name)
