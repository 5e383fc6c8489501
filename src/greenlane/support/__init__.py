"""eventlet's ``support`` package: the few helpers that libraries import from it.

swift and nameko read error numbers with ``get_errno``, oslo.service and
swift catch ``support.greenlets.GreenletExit``, and code that resolves names
by hand imports ``support.greendns``; eventlet's own test suite (which
greenlane runs under the alias) imports ``bytes_to_str``. eventlet's other
helpers here (``wrap_deprecated``, the psycopg2 and Stackless shims) are
internal to eventlet and not reproduced.
"""

from __future__ import annotations

from . import greenlets

__all__ = ["bytes_to_str", "get_errno", "greenlets"]


def get_errno(exc: BaseException) -> int | None:
    """The error number of ``exc``: its ``errno`` when set, else its first argument, else None.

    eventlet's helper for exceptions whose ``errno`` is None but whose first
    argument is the number (``OSError`` raised with a bare code).
    """
    errno = getattr(exc, "errno", None)
    if errno is not None:
        return errno  # type: ignore[no-any-return]
    return exc.args[0] if exc.args else None


def bytes_to_str(b: bytes, encoding: str = "ascii") -> str:
    """``b`` decoded with ``encoding`` (eventlet's py2/py3 helper; ASCII by default)."""
    return b.decode(encoding)
