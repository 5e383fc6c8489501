"""Cooperative ``http.server``: the stdlib's module over green ``socketserver``, ``socket``, ``os``.

``HTTPServer`` serves one request at a time in the green thread that runs
``serve_forever`` (the hub keeps running meanwhile); ``ThreadingHTTPServer``
handles each request in a green thread. eventlet's Python 2 names
``BaseHTTPServer``, ``SimpleHTTPServer`` and ``CGIHTTPServer`` all map here
(under the ``eventlet`` alias). A private copy of the stdlib's source (see
``greenlane.green.http.client``).
"""

from __future__ import annotations

from .. import http, os, select, socket, socketserver, subprocess
from .._copies import become_copy

become_copy(
    __name__,
    "http.server",
    {
        "http": http,
        "os": os,
        "select": select,
        "socket": socket,
        "socketserver": socketserver,
        "subprocess": subprocess,
    },
)
