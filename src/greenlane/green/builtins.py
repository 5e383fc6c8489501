"""Green ``builtins`` (``monkey_patch(builtins=True)``, opt-in as in eventlet): ``open`` announces new fds.

File I/O cannot be made cooperative (a regular file is always "ready"; use
``tpool`` for slow disks), and eventlet's patch does not try: its ``open``
tells the hub that the descriptor it returns was just opened
(``hubs.notify_opened``). The number may have belonged to a socket or pipe
closed behind the hub's back (``os.close`` on a raw fd some green thread
waited on); its stale waiters then get ``IOClosed`` instead of being woken
by the file's readiness, and the hub drops its poller registration.

Only a thread that has a hub, or the main thread, announces: a native worker
(``tpool``'s) has no green waiters to warn, and making it a hub would cost
more than the open. Patching replaces ``builtins.open`` and, through the
patcher's usual rule, the stdlib's other references to that same function
(``io.open``, ``_io.open``, ``tokenize``'s copy). The module holds ``open``
only (eventlet's ``green.builtin`` re-exports every builtin, ``input`` too,
which blocks: use the real ``builtins`` for the rest).
"""

from __future__ import annotations

import builtins as _std
from typing import Any, Final

from .. import hubs
from .._core import existing_hub, is_main_thread
from .._core import get_ident as _os_get_ident

__implements__: Final = ("open",)

_open: Final = _std.open


def open(*args: Any, **kwargs: Any) -> Any:
    """The builtin ``open``, then ``hubs.notify_opened`` of the new descriptor (see the module docstring)."""
    file = _open(*args, **kwargs)
    if existing_hub() is not None or is_main_thread(_os_get_ident()):
        hubs.notify_opened(file.fileno())
    return file
