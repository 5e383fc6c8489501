"""Every ``GREENLANE_*`` environment variable, read and checked in this one place.

Values are read when first asked for (not at import), so a program may set
``os.environ`` before its first hub exists. A bad value raises ``ValueError``
naming the variable and the value.

| variable | meaning | default |
| --- | --- | --- |
<<<<<<< HEAD
| ``GREENLANE_HUB`` | ``epoll``, ``poll``, ``select``, or ``asyncio`` (an event loop) | best available |
=======
| ``GREENLANE_HUB`` | I/O manager: ``epoll``, ``poll``, ``select`` or ``asyncio`` | best available |
>>>>>>> core
| ``GREENLANE_THREADPOOL_SIZE`` | most ``tpool`` worker threads, 0 to 1024 (started as needed) | 20 |
| ``GREENLANE_MAX_BLOCKING_TIME`` | seconds before the blocking detector reports (0: off) | 0 |
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Final

__all__ = ["Config", "read_config"]

_HUBS: Final = ("epoll", "poll", "select", "asyncio")

# Each worker is a native thread with its own stack; past this many, more threads
# only add contention (a pool that size is a design problem, not a setting).
MAX_THREADPOOL_SIZE: Final = 1024


@dataclass(frozen=True, slots=True)
class Config:
    """greenlane's settings as read from the environment."""

    hub: str | None
    threadpool_size: int
    max_blocking_time: float


def _read_hub() -> str | None:
    value = os.environ.get("GREENLANE_HUB", "").strip().lower()
    if not value:
        return None
    if value not in _HUBS:
        raise ValueError(f"GREENLANE_HUB={value!r} is not one of {', '.join(_HUBS)}")
    return value


def _read_number(name: str, default: float, *, integer: bool, maximum: int | None = None) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    kind = "an integer" if integer else "a number"
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not {kind}") from None
    if not math.isfinite(value):
        raise ValueError(f"{name}={raw!r} is not {kind} (NaN and infinity are refused)")
    if value < 0:
        raise ValueError(f"{name}={raw!r} must not be negative")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name}={raw!r} is above the maximum of {maximum}")
    return value


def read_config() -> Config:
    """Read and validate every ``GREENLANE_*`` variable now."""
    return Config(
        hub=_read_hub(),
        threadpool_size=int(
            _read_number("GREENLANE_THREADPOOL_SIZE", 20, integer=True, maximum=MAX_THREADPOOL_SIZE)
        ),
        max_blocking_time=_read_number("GREENLANE_MAX_BLOCKING_TIME", 0.0, integer=False),
    )
