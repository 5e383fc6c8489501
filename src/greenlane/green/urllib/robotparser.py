"""Cooperative ``urllib.robotparser``: the stdlib's module over the green ``urllib.request``.

A private copy of the stdlib's source (see ``greenlane.green.http.client``).
"""

from __future__ import annotations

from .. import urllib
from .._copies import become_copy

become_copy(__name__, "urllib.robotparser", {"urllib": urllib})
