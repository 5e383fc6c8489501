"""Cooperative ``socketserver``: the stdlib's module over green ``socket``, ``selectors``, ``threading``.

``serve_forever`` waits on a green selector, so it parks the green thread
that runs it; ``ThreadingMixIn`` handles each request in a green thread and
``ForkingMixIn`` reaps its children with the green ``os.waitpid``. A private
copy of the stdlib's source (see ``greenlane.green.http.client``).
"""

from __future__ import annotations

from . import os, selectors, socket, threading
from ._copies import become_copy

become_copy(
    __name__,
    "socketserver",
    {"os": os, "selectors": selectors, "socket": socket, "threading": threading},
)
