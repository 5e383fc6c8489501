"""Cooperative ``urllib.request``: the stdlib's module over green ``http``, ``ftplib``, ``socket``, ``ssl``.

``urlopen`` and the openers park the green thread while they connect and
read. A private copy of the stdlib's source (see
``greenlane.green.http.client``); ``urllib.error``, ``urllib.parse`` and
``urllib.response`` are the stdlib's own, so ``except
urllib.error.HTTPError`` catches what either module raises.
"""

from __future__ import annotations

from .. import ftplib, http, socket, ssl
from .._copies import become_copy
from ..http import client as _client

become_copy(
    __name__,
    "urllib.request",
    {"ftplib": ftplib, "http": http, "http.client": _client, "socket": socket, "ssl": ssl},
)
