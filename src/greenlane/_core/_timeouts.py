"""The one check every timeout, delay and interval argument passes through.

A deadline is ``clock() + timeout`` pushed on the hub's timer heap, and the
heap orders deadlines with ``<``. NaN compares false with everything, so a
single NaN deadline breaks the heap's order: the timers behind it never come
due, and the hub spins at full CPU asking for the next one. A string fails
later with an operator error that names neither the call nor the value. So
every public call that takes seconds (``Event.wait``, ``sleep``,
``spawn_after``, ``Timeout``, ``Queue.get``, ``acquire``, ``select``,
``trampoline``, ``futures.wait`` ...) checks its argument here, before any
side effect, and the hub's three ways onto the heap (``park``, ``wait_fd``,
``call_later``) check again, so a call site missed above still cannot freeze
the hub.

The rules, the same everywhere:

- A number is an ``int``, a ``float`` or anything ``float()`` accepts that is
  not text (``Fraction``, ``Decimal``, numpy scalars). ``bool`` is accepted as
  the ``int`` it is, as the stdlib does (``threading.Event().wait(True)``
  works); refusing it would break patched stdlib code.
- NaN is refused (``ValueError``) everywhere: no wait has a meaning for it.
- Infinity is accepted: it waits as long as ``None`` would.
- A negative value is refused (``ValueError``) only where the stdlib or
  eventlet refuse it (``Queue.get``, ``select``, ``sleep``); elsewhere it
  means "already expired" (``Timeout(-1)``, ``Event.wait(-1)``), the
  caller's choice through ``negative=True``.

The fast path (an exact ``float`` or ``int`` in range) is two type checks and
a comparison, but a call still costs more than the check: the hottest timed
waits (``park``, ``wait_fd``, ``Event.wait``, ``Queue.get``/``put``) pass an
in-range float inline (``t.__class__ is float and t >= 0.0``, false for NaN)
and call ``check_timeout`` for anything else. Untimed waits pay nothing
(callers test ``is None`` first).
"""

from __future__ import annotations

import math

__all__ = ["check_timeout"]


def check_timeout(value: object, name: str = "timeout", *, negative: bool = True) -> float:
    """``value`` as seconds, or ``TypeError``/``ValueError`` naming ``name`` and the value.

    ``negative=False`` also refuses values below zero. ``None`` is not
    accepted here: callers for which it means "forever" test it first.
    """
    cls = value.__class__
    if cls is float:
        if value >= 0.0 or (negative and value < 0.0):  # type: ignore[operator]  # NaN is neither
            return value  # type: ignore[return-value]
    elif cls is int and (negative or value >= 0):  # type: ignore[operator]
        return value  # type: ignore[return-value]
    return _slow_check(value, name, negative)


def _slow_check(value: object, name: str, negative: bool) -> float:
    if isinstance(value, (str, bytes, bytearray)):
        raise TypeError(f"{name} must be a number of seconds, not {value!r}")
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except OverflowError:
        seconds = math.inf if value > 0 else -math.inf  # type: ignore[operator]
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number of seconds, not {value!r}") from None
    if math.isnan(seconds):
        raise ValueError(f"{name} must be a number of seconds, not {value!r}")
    if seconds < 0.0 and not negative:
        raise ValueError(f"{name} must be non-negative, not {value!r}")
    return value if isinstance(value, (int, float)) else seconds
