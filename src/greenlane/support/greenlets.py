"""eventlet's ``support.greenlets``: the greenlet names eventlet code imports from one place.

``GreenletExit`` is what ``kill`` raises in a green thread; ``greenlet`` is
the greenlet class and ``getcurrent`` the running greenlet (for greenlane's
green thread handle, use ``greenlane.getcurrent``).
"""

from __future__ import annotations

from typing import Final

import greenlet as _greenlet

__all__ = ["GreenletExit", "getcurrent", "greenlet"]

greenlet: Final = _greenlet.greenlet
getcurrent: Final = _greenlet.getcurrent
GreenletExit: Final = _greenlet.GreenletExit
