"""Cooperative ``time``: ``sleep`` suspends only the calling green thread.

A thread with no hub other than the main one (a native worker, say one of
``tpool``'s) has no green threads to run meanwhile, so it sleeps the OS way;
so does code still running while the interpreter finalizes.
"""

from __future__ import annotations

import time as _std
from typing import Any, Final

from .._core import existing_hub, is_main_thread, os_sleep
from .._core import get_ident as _os_get_ident
from ..greenthread import sleep as _green_sleep

__implements__: Final = ("sleep",)


def __getattr__(name: str) -> Any:
    """Everything greenlane does not replace (``monotonic``, ``time``, ...) is the stdlib's own."""
    return getattr(_std, name)


def sleep(secs: float, /) -> None:
    """Suspend the calling green thread for ``secs`` seconds (``time.sleep``); 0 lets the others run."""
    if existing_hub() is None and not is_main_thread(_os_get_ident()):
        os_sleep(secs)
        return
    try:
        _green_sleep(secs)
    except RuntimeError:
        import sys

        if not sys.is_finalizing():
            raise
        os_sleep(secs)
