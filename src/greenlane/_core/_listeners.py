"""eventlet's fd listener (``hub.add``): a green thread calling ``cb(fileno)`` each time the fd is ready.

See ``_compat`` for why a listener is a green thread and how it wakes a
greenlet parked in ``hub.switch()``. It waits through ``wait_fd`` like any
other fd waiter, so ``notify_close`` reaches it (``IOClosed``: it calls
``mark_as_closed`` then the throwback) and ``get_readers()`` lists it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from greenlet import getcurrent as _getcurrent

from ._compat import _EVENTS, Removed
from ._errors import IOClosed
from ._hub import Task

if TYPE_CHECKING:
    from ._hub import Hub

__all__ = ["FdListener"]

log = logging.getLogger("greenlane.hub")


class FdListener(Task):
    """eventlet's fd listener: ``cb(fileno)`` each time ``fileno`` is ready, until removed.

    Fields as eventlet's ``hubs.hub.FdListener``: ``evtype`` (``"read"`` or
    ``"write"``), ``fileno``, ``cb``, ``tb``, ``mark_as_closed``, ``spent``
    and ``greenlet`` (the one that added it).
    """

    def __init__(  # noqa: PLR0917 - eventlet's positional signature
        self,
        hub: Hub,
        evtype: str,
        fileno: int,
        cb: Callable[[int], object],
        tb: Callable[[BaseException], object],
        mark_as_closed: Callable[[], object] | None,
    ) -> None:
        Task.__init__(self)
        self.evtype = evtype
        self.fileno = fileno
        self.cb = cb
        self.tb = tb
        self.mark_as_closed = mark_as_closed
        self.spent = False
        self.greenlet = _getcurrent()
        self._owner_hub = hub

    def _run(self) -> None:
        hub = self._owner_hub
        self._state = Task.RUNNING
        events = _EVENTS[self.evtype]
        reason = f"eventlet listener ({self.evtype} fd {self.fileno})"
        try:
            while not self.spent:
                hub.wait_fd(self.fileno, events, reason=reason)
                if not self.spent:
                    hub._listener_callback(self)
        except Removed:
            pass
        except (KeyboardInterrupt, SystemExit) as exc:
            self.spent = True
            hub.throw(hub.root, exc, front=True)
        except IOClosed as exc:  # notify_close: defang, then tell the owner
            self.spent = True
            if self.mark_as_closed is not None:
                self.mark_as_closed()
            hub._listener_throwback(self, exc)
        except BaseException as exc:  # reported, and the listener is dropped (as eventlet does)
            self.spent = True
            report = log.error if hub.debug_exceptions else log.debug
            report("greenlane hub: eventlet listener %r failed; removed", self, exc_info=exc)
        finally:
            self._state = Task.DONE

    def __repr__(self) -> str:
        state = "spent" if self.spent else "listening"
        return f"<FdListener {self.evtype} fd={self.fileno} {state} cb={self.cb!r}>"

