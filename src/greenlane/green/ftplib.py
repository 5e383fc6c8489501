"""Cooperative ``ftplib``: the stdlib's module over green ``socket`` and ``ssl``.

A private copy of the stdlib's source (see ``greenlane.green.http.client``);
its exceptions (``error_reply``, ``error_temp``, ...) are the stdlib's.
"""

from __future__ import annotations

from . import socket, ssl
from ._copies import become_copy

become_copy(__name__, "ftplib", {"socket": socket, "ssl": ssl})
