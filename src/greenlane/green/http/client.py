"""Cooperative ``http.client``: the stdlib's module run over green ``socket`` and ``ssl``.

Connections (``HTTPConnection``, ``HTTPSConnection``) park the green thread
while they connect, send and read. This module is a private copy of the
stdlib's source (``greenlane.green._copies``), not a patched stdlib module,
so the real ``http.client`` stays untouched; its exceptions are the
stdlib's own classes, so ``except http.client.HTTPException`` catches both.
Its other classes are the copy's: ``isinstance`` against the stdlib's
``HTTPConnection`` is False, as under eventlet.
"""

from __future__ import annotations

from .. import socket, ssl
from .._copies import become_copy

become_copy(__name__, "http.client", {"socket": socket, "ssl": ssl})
