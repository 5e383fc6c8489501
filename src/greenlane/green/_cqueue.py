"""Cooperative ``_queue``: the C module behind ``queue.SimpleQueue``, green.

``queue`` takes ``SimpleQueue`` and ``Empty`` from ``_queue`` when it is
imported. Patching ``_queue`` as well as ``queue`` makes code that uses the C
module directly (``from _queue import SimpleQueue``, CPython's own
``test_queue``, which imports both afresh) get the green queue too. ``Empty``
is the original ``_queue.Empty``, the class the green queue raises: a fresh
import of ``_queue`` (a new C module with a new ``Empty``) gets that one, so
one ``except queue.Empty`` catches every queue's.
"""

from __future__ import annotations

import queue as _std
from typing import Final

from .queue import SimpleQueue

__implements__: Final = ("SimpleQueue", "Empty")

Empty: Final = _std.Empty

__all__ = ["Empty", "SimpleQueue"]
