"""Cooperative ``selectors``: the stdlib's selectors over ``greenlane.green.select``.

The stdlib's selector classes do all the bookkeeping; only the object they
wait in changes: a green ``epoll``/``poll`` (``_selector_cls``) or the green
``select`` function. ``DefaultSelector`` is the best of those the platform
has. ``socketserver``, ``subprocess`` and asyncio-free code that selects on
sockets then waits cooperatively.
"""

from __future__ import annotations

import selectors as _std
from typing import Any, Final

from . import select as _gselect

__implements__: Final = ("DefaultSelector", "SelectSelector", "PollSelector", "EpollSelector")
__removed__: Final = ("DevpollSelector", "KqueueSelector")


def __getattr__(name: str) -> Any:
    """Everything greenlane does not replace is the stdlib's own (except ``__removed__``)."""
    if name in __removed__:
        raise AttributeError(f"greenlane.green.selectors has no {name!r}: it cannot be made cooperative")
    return getattr(_std, name)


class SelectSelector(_std.SelectSelector):
    """The stdlib's ``SelectSelector``, waiting in the green ``select``."""

    def _select(self, r: Any, w: Any, _: Any, timeout: float | None = None) -> Any:
        return _gselect.select(r, w, [], timeout)


DefaultSelector: type[_std.BaseSelector] = SelectSelector

if hasattr(_gselect, "poll"):

    class PollSelector(_std.PollSelector):
        """The stdlib's ``PollSelector`` on a green ``poll`` object."""

        _selector_cls = _gselect.poll

    DefaultSelector = PollSelector

if hasattr(_gselect, "epoll"):

    class EpollSelector(_std.EpollSelector):
        """The stdlib's ``EpollSelector`` on a green ``epoll`` object."""

        _selector_cls = _gselect.epoll

    DefaultSelector = EpollSelector
