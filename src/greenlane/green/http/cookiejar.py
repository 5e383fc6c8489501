"""Cooperative ``http.cookiejar``: the stdlib's module over green ``threading``, ``http`` and ``urllib``.

A private copy of the stdlib's source (see ``greenlane.green.http.client``);
its exceptions (``LoadError``) are the stdlib's.
"""

from __future__ import annotations

from .. import http, threading, urllib
from .._copies import become_copy

become_copy(__name__, "http.cookiejar", {"threading": threading, "http": http, "urllib": urllib})
