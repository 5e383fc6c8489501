"""``greenlane.green.zmq``: not provided; importing it raises a clear ``ImportError``.

eventlet's green ``zmq`` wraps pyzmq's sockets so that ``send``/``recv``
park on the ZeroMQ fd. greenlane has no such wrapper yet. Libraries that
offer ZeroMQ as one option among several (python-socketio's ``ZmqManager``)
import it inside ``try``/``except ImportError``, so they keep working
without it; code that needs it gets this error at import, never a socket
that blocks the hub.
"""

from __future__ import annotations

import importlib.util

if importlib.util.find_spec("zmq") is None:
    raise ImportError(
        "greenlane.green.zmq needs pyzmq (pip install pyzmq), and greenlane has no green zmq yet",
        name=__name__,
    )
raise ImportError(
    "greenlane.green.zmq is not implemented: pyzmq is installed, but its sockets would block "
    "the hub; use pyzmq from a native thread (greenlane.tpool) instead",
    name=__name__,
)
