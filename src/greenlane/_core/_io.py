"""The hub's I/O manager: the object that owns fd waits and the sleep between passes.

A hub owns exactly one I/O manager (``hub.io``), chosen by name when the hub
is created (``Hub(poller="epoll")``, ``use_hub``, ``GREENLANE_HUB``): the
names ``epoll``, ``poll`` and ``select`` make a ``PollerIO`` (this module);
other names come from ``register_io_manager`` (the asyncio layer registers
``"asyncio"``). The hub never touches a poller, an fd table or the wake-up
pipe itself; this is the whole interface between them.

What the hub calls, and expects:

- ``poll(timeout)``: block at most ``timeout`` seconds (``0.0``: just look;
  ``None``: until something happens) and, for every fd found ready, *wake*
  its waiter (``_parking.wake``: the record goes PARKED -> WOKEN into the
  hub's ready queue) and take it out of the tables. Called from the hub's
  greenlet only, once per pass (``Hub.run_pass`` step 1); it returns nothing,
  and must return early when ``wake()`` is called meanwhile. It never runs
  green code or callbacks: it only marks records ready.
- ``wake()``: from any OS thread, end a ``poll`` in progress (or make the
  next one return at once). The hub calls it from ``call_soon_threadsafe``
  only while ``hub.polling`` is True; cross-thread calls themselves wait in
  the hub's own queue, drained after each poll.
- ``readers``/``writers``: fd -> the record the fd's readiness wakes. The
  hub only tests them for emptiness (is any fd watched: may it sleep
  forever, report a deadlock, hand off past its budget) and shows them
  (statistics, dumps); they are never rebound.
- ``discard(rec)``: the parking state machine's abort of an fd wait (timer,
  kill, ``Timeout``): take PARKED ``rec`` out of the tables.
- ``wait_fd``, ``wait_fd_or_close``, ``notify_close``, ``release_fd``:
  the hub's fd calls, bound onto the hub at creation (``hub.wait_fd`` is
  ``hub.io.wait_fd``: no extra call on the hot path). ``release_fd`` is
  callable from any OS thread; the others from the hub's thread.
- ``waiters(bit)``, ``after_fork()``, ``clear()``, ``close()``, ``name``:
  introspection, a forked child's fresh start, a test harness's reset, the
  end.

An fd wait enters PARKED through ``_parking.suspend``, after the manager has
filed the record in its tables; the state machine calls ``discard`` back if
the wait ends any other way than readiness. So every transition stays in
``_parking``, and a manager only decides *which* record an fd's readiness
wakes.

An I/O manager driven by a foreign loop (asyncio: ``add_reader`` and
friends, its own ``call_at`` and ``call_soon_threadsafe``) implements the
same calls: ``poll`` may then be a no-op (the foreign loop already marked
records ready from its reader callbacks, using ``_parking.wake``), and the
loop calls ``hub.run_pass(poll=False)`` as its callback instead of the hub
owning the while-loop; ``hub.idle_timeout()`` then says when the next pass
is due (None: only when woken; it also reports deadlocks and advances a test
clock), and ``hub.report(exc)`` handles what escapes a pass. Three optional
hooks serve such a driver, at no cost to the native hub:

- the factory runs inside ``Hub.__init__`` once ``ident``, ``root`` and
  ``greenlet`` are set, and may replace ``hub.greenlet`` (the greenlet that
  runs passes and that parked threads switch to);
- ``run_queue``: a deque subclass the hub builds its ready and callback
  queues from, so that work arriving outside a pass (an asyncio callback
  setting a green Event) can schedule one from ``append``;
- ``register_io_manager(..., auto=)``: chosen when a hub is created without
  a name and ``auto()`` answers True (a running asyncio loop).
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, Protocol

from greenlet import getcurrent as _getcurrent

from . import _pollers, _stdlib
from ._errors import IOClosed
from ._fdqueue import SHARED, FdLines, check_fd_free
from ._parking import PARKED, TIMED_OUT, Parked, record_of, suspend, take_deferred, wake
from ._timeouts import check_timeout
from ._wakeup import WakeupPipe

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ._hub import Hub

__all__ = ["IOManager", "PollerIO", "io_manager_names", "make_io_manager", "register_io_manager"]

_READ: Final = _pollers.READ
_WRITE: Final = _pollers.WRITE
# Any report bit other than readability (writable, error, hang-up) takes the general path.
_NOT_READ: Final = ~_pollers.READ


class IOManager(Protocol):
    """What a hub needs from its I/O manager (see the module docstring for the rules)."""

    name: str
    readers: dict[int, Parked]
    writers: dict[int, Parked]

    def poll(self, timeout: float | None) -> None:
        """Wait up to ``timeout`` (None: until woken) and wake the waiters of ready fds."""

    def wake(self) -> None:
        """End a ``poll`` in progress; callable from any OS thread."""

    def discard(self, rec: Parked) -> None:
        """Take PARKED ``rec`` out of the fd tables (its wait ended otherwise)."""

    def wait_fd(
        self, fd: int, events: int, timeout: float | None = None, reason: str = "", *, keep: bool = False
    ) -> bool:
        """Park until ``fd`` is ready for ``events``; False on timeout."""

    def wait_fd_or_close(
        self, fd: int, events: int, timeout: float | None, reason: str, closes: Iterable[int]
    ) -> bool:
        """``wait_fd``, also ended by ``IOClosed`` when one of ``closes`` is announced closed."""

    def notify_close(self, fd: int) -> None:
        """``fd`` is about to be closed: its waiters get ``IOClosed``."""

    def release_fd(self, fd: int) -> None:
        """``notify_close`` from any OS thread."""

    def waiters(self, bit: int) -> list[Parked]:
        """Every record waiting for ``bit`` (READ or WRITE), in wake-up order per fd."""

    def after_fork(self) -> None:
        """In a forked child: fresh kernel objects, the same waits."""

    def clear(self) -> None:
        """Forget every wait (a test harness dropping a failed test's hub)."""

    def close(self) -> None:
        """Release everything (the hub is idle and closing)."""


IOFactory = Callable[["Hub", str], IOManager]
_FACTORIES: dict[str, IOFactory] = {}
# Consulted, in registration order, when a hub is created with no name: the first that
# answers True picks its manager (asyncio's: "a loop is running in this thread").
_AUTO: list[tuple[str, Callable[[], bool]]] = []


def register_io_manager(name: str, factory: IOFactory, *, auto: Callable[[], bool] | None = None) -> None:
    """Make ``Hub(poller=name)`` (and ``use_hub(name)``) build its I/O manager with ``factory(hub, name)``.

    ``auto``, if given, is asked (cheaply, in the creating thread) whenever a
    hub is created without a name: True makes it ``name``'s.
    """
    if not name or not isinstance(name, str):
        raise ValueError(f"an I/O manager name must be a non-empty string, not {name!r}")
    _FACTORIES[name] = factory
    _AUTO[:] = [(n, a) for n, a in _AUTO if n != name]
    if auto is not None:
        _AUTO.append((name, auto))


def io_manager_names() -> list[str]:
    """Every name a hub can be created with on this platform."""
    return sorted(set(_pollers.POLLERS) | set(_FACTORIES))


def make_io_manager(hub: Hub, name: str | None) -> IOManager:
    """The I/O manager called ``name`` for ``hub`` (None: an ``auto`` one, else the best poller)."""
    if not name:
        name = next((n for n, auto in _AUTO if auto()), None) or _pollers.default_poller_name()
    factory = _FACTORIES.get(name)
    if factory is not None:
        return factory(hub, name)
    if name not in _pollers.POLLERS:
        raise ValueError(
            f"unknown or unavailable hub poller {name!r}; this platform has {io_manager_names()}"
        )
    return PollerIO(hub, name)


def check_io_manager_name(name: str) -> None:
    """``ValueError`` unless a hub can be created with ``name``."""
    if name not in _FACTORIES and name not in _pollers.POLLERS:
        raise ValueError(
            f"unknown or unavailable hub poller {name!r}; this platform has {io_manager_names()}"
        )


class PollerIO(FdLines):
    """The I/O manager over epoll, poll or select, woken across threads through a self-pipe.

    The registration policy is explained in ``_pollers``: a wait that asks
    to ``keep`` its registration (green sockets, which announce every close
    with ``notify_close``) costs no syscall in steady state; other waits
    register and unregister around themselves, so a closed-and-reused fd
    number can never be missed. A report for an fd nobody waits on narrows
    its registration at once, and an fd that epoll keeps reporting but cannot
    drop (closed while a duplicate keeps the file open) makes the manager
    rebuild its poller rather than spin. Several waiters on one fd, when
    allowed, line up behind the fd's one waiter (``_fdqueue``).
    """

    def __init__(self, hub: Hub, name: str) -> None:
        super().__init__(hub)
        self.name = name
        self.registered: dict[int, int] = {}  # fd -> events the poller watches it for
        self.poller = _pollers.make_poller(name)
        self.wakeup = WakeupPipe(hub.ident)
        self.poller.register(self.wakeup.fd, _READ)
        self.wake = self.wakeup.wake

    # -- waiting ----------------------------------------------------------------

    def wait_fd(
        self, fd: int, events: int, timeout: float | None = None, reason: str = "", *, keep: bool = False
    ) -> bool:
        """Park until ``fd`` is ready for ``events`` (READ and/or WRITE); False on timeout.

        With ``keep=True`` the fd stays registered after the wait, so the next
        wait on it costs no syscall (see ``_pollers``); only owners that call
        ``notify_close`` before closing the fd may ask for that (green
        sockets do), since a registration outliving its fd would miss a reuse
        of the number.
        """
        if timeout is not None and not (timeout.__class__ is float and timeout >= 0.0):
            timeout = check_timeout(timeout)  # the net under the callers' checks (see _timeouts)
        hub = self.hub
        glet = _getcurrent()
        rec: Parked | None = getattr(glet, "rec", None)
        if rec is None or rec.hub is not hub:
            rec = record_of(glet, hub)
        if rec.deferred is not None:
            raise take_deferred(rec)
        # Somebody already waits on it: join the line if allowed (_fdqueue).
        shared = (events & _READ and fd in self.readers) or (events & _WRITE and fd in self.writers)
        if shared and not self.multiple_fd_waiters:
            check_fd_free(hub, fd, events)  # raises
        have = self.registered.get(fd)
        if (have is None or have & events != events) and not self._watch(fd, events):
            return True  # a regular file: epoll refuses it, and it is always ready
        rec.queue = None
        rec.on_abandon = None
        rec.fd = fd
        if shared:
            self._join_line(rec, fd, events)  # sets rec.events
        else:
            rec.events = events
            if events & _READ:
                self.readers[fd] = rec
            if events & _WRITE:
                self.writers[fd] = rec
        try:
            return suspend(hub, rec, PARKED, reason or f"fd {fd}", timeout) is not TIMED_OUT
        finally:
            rec.fd = -1
            if not keep:
                self._narrow(fd, (_READ if fd in self.readers else 0) | (_WRITE if fd in self.writers else 0))

    def discard(self, rec: Parked) -> None:
        """Take PARKED ``rec`` out of its fd's tables (promoting the next in line)."""
        if rec.events & SHARED:
            self._leave_lines(rec)
            return
        fd = rec.fd
        if rec.events & _READ and self.readers.get(fd) is rec:
            del self.readers[fd]
        if rec.events & _WRITE and self.writers.get(fd) is rec:
            del self.writers[fd]

    def _watch(self, fd: int, events: int) -> bool:
        have = self.registered.get(fd)
        try:
            if have is None:
                self.poller.register(fd, events)
                self.registered[fd] = events
            elif have & events != events:
                self.poller.modify(fd, have | events)
                self.registered[fd] = have | events
        except PermissionError:
            return False
        except OSError as exc:
            if exc.errno == errno.ENOENT and have is not None:  # fd closed and reused unannounced
                self.poller.register(fd, events)
                self.registered[fd] = events
            else:
                raise
        return True

    # -- closing fds ------------------------------------------------------------

    def notify_close(self, fd: int) -> None:
        """Announce that ``fd`` is about to be closed: its waiters (all of them) get ``IOClosed``."""
        throw = self.hub.throw
        for rec in self.fd_waiters(fd):
            throw(rec.glet, IOClosed(errno.EBADF, f"fd {fd} was closed while waited on"))
        if self.close_watchers:
            self._wake_close_watchers(fd)
        if self.registered.pop(fd, None) is not None:
            self.poller.unregister(fd)

    def release_fd(self, fd: int) -> None:
        """``notify_close`` from any OS thread; nothing to do once the hub is closed."""
        hub = self.hub
        if hub.closed:
            return
        if _stdlib.get_ident() == hub.ident:
            self.notify_close(fd)
            return
        # Another OS thread is about to close fd, and the number may be reused by
        # this hub's thread right after: drop the registration now (a dict pop is
        # atomic, and the pollers' unregister is safe from any thread), and only
        # wake the waiters (if any) on the hub's thread, if they still wait on it.
        if self.registered.pop(fd, None) is not None:
            self.poller.unregister(fd)
        waiters = [rec for rec in (self.readers.get(fd), self.writers.get(fd)) if rec is not None]
        if self.lines:  # tuple() copies a deque without releasing the GIL
            lines = self.lines
            waiters += tuple(lines.get((fd, _READ), ())) + tuple(lines.get((fd, _WRITE), ()))
        if waiters:
            hub.call_soon_threadsafe(self._wake_released, fd, waiters)

    def _wake_released(self, fd: int, waiters: list[Parked]) -> None:
        for rec in waiters:
            if rec.fd == fd and rec.state == PARKED:  # still in that same wait
                self.hub.throw(rec.glet, IOClosed(errno.EBADF, f"fd {fd} was closed while waited on"))

    # -- readiness --------------------------------------------------------------

    def poll(self, timeout: float | None) -> None:
        """Wait up to ``timeout`` for readiness and wake the waiters of the fds reported."""
        events = self.poller.poll(timeout)
        if not events:
            return
        wakeup, readers = self.wakeup.fd, self.readers
        for fd, ev in events:
            if fd == wakeup:
                self.wakeup.drain()
                continue
            if not ev & _NOT_READ:
                # The common report, inlined: readable, and one thread waits to read only.
                rec = readers.get(fd)
                if rec is not None and rec.events == _READ:
                    del readers[fd]
                    wake(rec, None)
                    continue
            self._dispatch(fd, ev)

    def _dispatch(self, fd: int, ev: int) -> None:
        woke = 0
        if ev & (_READ | _pollers.ERROR):
            rec = self.readers.get(fd)
            if rec is not None:
                self.discard(rec)  # the next in line, if any, becomes the head
                wake(rec, None)
                woke |= _READ
        if ev & (_WRITE | _pollers.ERROR):
            rec = self.writers.get(fd)
            if rec is not None:
                self.discard(rec)
                wake(rec, None)
                woke |= _WRITE
        if ev & ~woke:
            # Reported but nobody waits for it: narrow the registration (see _pollers).
            self._narrow(fd, (_READ if fd in self.readers else 0) | (_WRITE if fd in self.writers else 0))

    def _narrow(self, fd: int, want: int) -> None:
        if fd not in self.registered:
            return  # a report already queued for an fd we dropped
        try:
            if want:
                self.poller.modify(fd, want)
                self.registered[fd] = want
            else:
                del self.registered[fd]
                self.poller.unregister(fd)
        except OSError:
            # The fd was closed without notify_close while a duplicate keeps its
            # file open, so epoll still reports it and cannot be told to stop:
            # rebuild the poller without it rather than spin.
            self.registered.pop(fd, None)
            self._rebuild_poller()

    def _rebuild_poller(self) -> None:
        self.poller.close()
        self.poller = _pollers.make_poller(self.name)
        self.poller.register(self.wakeup.fd, _READ)
        for fd, events in list(self.registered.items()):
            try:
                self.poller.register(fd, events)
            except OSError:
                del self.registered[fd]

    # -- the rest of the interface ------------------------------------------------

    def waiters(self, bit: int) -> list[Parked]:
        """Every record waiting for ``bit``: each fd's head, then its line in order."""
        table = self.readers if bit == _READ else self.writers
        if not self.lines:
            return list(table.values())
        out: list[Parked] = []
        for fd, head in table.items():
            out.append(head)
            out.extend(self.lines.get((fd, bit), ()))
        return out

    def after_fork(self) -> None:
        """In a forked child: a new poller and wake-up pipe, the same registrations."""
        self.wakeup.close()
        self.wakeup = WakeupPipe(self.hub.ident)
        self.wake = self.wakeup.wake
        self._rebuild_poller()

    def clear(self) -> None:
        """Forget every wait (the records themselves are left as they are)."""
        self.readers.clear()
        self.writers.clear()
        self.lines.clear()
        self.close_watchers.clear()

    def close(self) -> None:
        """Release the wake-up pipe and the poller."""
        self.poller.unregister(self.wakeup.fd)
        self.wakeup.close()
        self.poller.close()

    def __repr__(self) -> str:
        return f"<PollerIO {self.name} readers={len(self.readers)} writers={len(self.writers)}>"

