"""greenlane.green.select (select, poll, epoll) and greenlane.green.selectors."""

from __future__ import annotations

import os
import select
import selectors
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

import greenlane
from greenlane.green import select as gselect
from greenlane.green import selectors as gselectors
from greenlane.green import socket as gsocket
from greenlane.testing import wait_until_parked

# Bounds a wait that should end at once: reached only if something hangs.
HANG_GUARD = 10.0
# A short real-time timeout, long enough that nothing legitimate hits it early.
SHORT = 0.05

needs_epoll = pytest.mark.skipif(not hasattr(select, "epoll"), reason="the platform has no epoll")
needs_poll = pytest.mark.skipif(not hasattr(gselect, "poll"), reason="green poll needs poll and epoll")


pytestmark = pytest.mark.usefixtures("no_fd_or_registration_left")


@pytest.fixture
def pair() -> Iterator[tuple[gsocket.socket, gsocket.socket]]:
    a, b = gsocket.socketpair()
    with a, b:
        yield a, b


def timed(fn: Any, *args: Any) -> tuple[Any, float]:
    start = time.monotonic()
    result = fn(*args)
    return result, time.monotonic() - start


# -- the modules ------------------------------------------------------------


def test_select_module_declares_removes_and_falls_through() -> None:
    assert set(gselect.__implements__) == {"select", "poll", "epoll"}
    for name in gselect.__removed__:
        with pytest.raises(AttributeError, match="cannot be made cooperative"):
            getattr(gselect, name)
    assert gselect.error is OSError is select.error
    assert gselect.POLLIN == select.POLLIN
    assert gselect.select is not select.select


def test_selectors_module_declares_removes_and_falls_through() -> None:
    for name in gselectors.__removed__:
        with pytest.raises(AttributeError, match="cannot be made cooperative"):
            getattr(gselectors, name)
    assert gselectors.EVENT_READ == selectors.EVENT_READ
    assert gselectors.SelectorKey is selectors.SelectorKey
    assert issubclass(gselectors.DefaultSelector, selectors.BaseSelector)
    if hasattr(select, "epoll"):
        assert gselectors.DefaultSelector is gselectors.EpollSelector


# -- select.select ---------------------------------------------------------


def test_select_wakes_on_readiness(pair: tuple[gsocket.socket, gsocket.socket]) -> None:
    a, b = pair
    gt = greenlane.spawn(gselect.select, [b], [], [], HANG_GUARD)
    wait_until_parked(gt)
    a.sendall(b"x")
    assert gt.wait() == ([b], [], [])


def test_select_without_timeout_wakes_on_readiness(pair: tuple[gsocket.socket, gsocket.socket]) -> None:
    a, b = pair
    gt = greenlane.spawn(gselect.select, [b.fileno()], [], [])
    wait_until_parked(gt)
    a.sendall(b"x")
    assert gt.wait() == ([b.fileno()], [], [])


def test_select_returns_what_is_ready_at_once(pair: tuple[gsocket.socket, gsocket.socket]) -> None:
    a, b = pair
    a.sendall(b"x")
    assert gselect.select([a, b], [a], [], HANG_GUARD) == ([b], [a], [])
    assert gselect.select([a, b], [a], [], 0) == ([b], [a], [])


def test_select_times_out(pair: tuple[gsocket.socket, gsocket.socket]) -> None:
    _, b = pair
    result, elapsed = timed(gselect.select, [b], [], [], SHORT)
    assert result == ([], [], [])
    assert SHORT * 0.9 <= elapsed < HANG_GUARD
    result, elapsed = timed(gselect.select, [b], [], [], 0)
    assert result == ([], [], [])


def test_select_on_empty_lists_sleeps_for_the_timeout() -> None:
    result, elapsed = timed(gselect.select, [], [], [], SHORT)
    assert result == ([], [], [])
    assert SHORT * 0.9 <= elapsed < HANG_GUARD
    assert gselect.select([], [], [], 0) == ([], [], [])
    assert gselect.select((), iter([]), set(), 0) == ([], [], [])


def test_select_on_empty_lists_lets_others_run() -> None:
    gt = greenlane.spawn(gselect.select, [], [], [], 0.2)
    wait_until_parked(gt)
    assert gt.wait() == ([], [], [])


@pytest.mark.parametrize("timeout", [-1, -0.001])
def test_select_rejects_negative_timeouts(timeout: float) -> None:
    with pytest.raises(ValueError):
        select.select([], [], [], timeout)  # the stdlib's rule
    with pytest.raises(ValueError, match="non-negative"):
        gselect.select([], [], [], timeout)


def test_select_rejects_what_the_stdlib_rejects() -> None:
    with pytest.raises(TypeError):
        gselect.select(["not an fd"], [], [], 0)
    with pytest.raises(ValueError):
        gselect.select([-1], [], [], 0)
    with pytest.raises(TypeError):
        gselect.select([], [], [], "soon")  # type: ignore[arg-type]
    s = gsocket.socket()
    s.close()
    with pytest.raises(ValueError):
        gselect.select([s], [], [], 0)  # fileno() is -1 once closed


def test_select_accepts_file_like_objects_and_regular_files(tmp_path: Any) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"data")
    with open(path, "rb") as f:
        assert gselect.select([f], [], [], HANG_GUARD) == ([f], [], [])


def test_select_sees_exceptional_conditions() -> None:
    with gsocket.create_server(("127.0.0.1", 0)) as server, gsocket.create_connection(
        server.getsockname()
    ) as client:
        conn, _ = server.accept()
        with conn:
            gt = greenlane.spawn(gselect.select, [], [], [conn], HANG_GUARD)
            wait_until_parked(gt)
            client.send(b"!", socket.MSG_OOB)
            assert gt.wait() == ([], [], [conn])


def test_select_beside_a_reader_of_the_same_socket(pair: tuple[gsocket.socket, gsocket.socket]) -> None:
    """A green select does not touch the hub's fd tables: a green recv on the same socket still works."""
    a, b = pair
    peeker = greenlane.spawn(b.recv, 1, socket.MSG_PEEK)
    selector = greenlane.spawn(gselect.select, [b], [], [], HANG_GUARD)
    wait_until_parked(peeker)
    wait_until_parked(selector)
    a.sendall(b"x")
    assert peeker.wait() == b"x"
    assert selector.wait() == ([b], [], [])


def test_many_green_selects_at_once() -> None:
    pairs = [gsocket.socketpair() for _ in range(20)]
    try:
        waiters = [greenlane.spawn(gselect.select, [b], [], [], HANG_GUARD) for _, b in pairs]
        wait_until_parked(waiters[-1])
        for a, _ in reversed(pairs):
            a.sendall(b"x")
        for gt, (_, b) in zip(waiters, pairs, strict=True):
            assert gt.wait() == ([b], [], [])
    finally:
        for a, b in pairs:
            a.close()
            b.close()


def test_killed_select_leaves_nothing_behind(pair: tuple[gsocket.socket, gsocket.socket]) -> None:
    _, b = pair
    gt = greenlane.spawn(gselect.select, [b], [], [], HANG_GUARD)
    wait_until_parked(gt)
    gt.kill()
    with pytest.raises(greenlane.Timeout), greenlane.Timeout(SHORT):
        gselect.select([b], [], [])


# -- poll -----------------------------------------------------------------


@needs_poll
def test_poll_wakes_on_readiness(pair: tuple[gsocket.socket, gsocket.socket]) -> None:
    a, b = pair
    p = gselect.poll()
    p.register(b, select.POLLIN)
    assert repr(p) == f"<greenlane.green.select.poll fds={[b.fileno()]}>"
    gt = greenlane.spawn(p.poll, HANG_GUARD * 1000)
    wait_until_parked(gt)
    a.sendall(b"x")
    assert gt.wait() == [(b.fileno(), select.POLLIN)]


@needs_poll
@pytest.mark.parametrize("forever", [None, -1])
def test_poll_none_or_negative_waits_without_limit(
    pair: tuple[gsocket.socket, gsocket.socket], forever: int | None
) -> None:
    a, b = pair
    p = gselect.poll()
    p.register(b.fileno(), select.POLLIN)
    gt = greenlane.spawn(p.poll, forever)
    wait_until_parked(gt)
    a.sendall(b"x")
    assert gt.wait() == [(b.fileno(), select.POLLIN)]


@needs_poll
def test_poll_times_out_in_milliseconds(pair: tuple[gsocket.socket, gsocket.socket]) -> None:
    _, b = pair
    p = gselect.poll()
    p.register(b, select.POLLIN)
    result, elapsed = timed(p.poll, SHORT * 1000)
    assert result == []
    assert SHORT * 0.9 <= elapsed < HANG_GUARD
    assert p.poll(0) == []


@needs_poll
def test_poll_with_nothing_registered_sleeps() -> None:
    p = gselect.poll()
    result, elapsed = timed(p.poll, SHORT * 1000)
    assert result == []
    assert SHORT * 0.9 <= elapsed < HANG_GUARD


@needs_poll
def test_poll_modify_and_unregister_as_the_stdlib(pair: tuple[gsocket.socket, gsocket.socket]) -> None:
    a, b = pair
    p = gselect.poll()
    std = select.poll()
    for poller in (p, std):
        poller.register(a, select.POLLIN)
    assert p.poll(0) == std.poll(0) == []
    for poller in (p, std):
        poller.modify(a, select.POLLOUT)
    assert p.poll(0) == std.poll(0) == [(a.fileno(), select.POLLOUT)]
    for poller in (p, std):
        poller.register(a, select.POLLIN)  # registering again replaces the mask
    assert p.poll(0) == std.poll(0) == []
    for poller in (p, std):
        poller.unregister(a)
        with pytest.raises(KeyError):
            poller.unregister(a)
        with pytest.raises(FileNotFoundError):
            poller.modify(b, select.POLLIN)


@needs_poll
def test_poll_reports_a_hang_up(pair: tuple[gsocket.socket, gsocket.socket]) -> None:
    a, b = pair
    p = gselect.poll()
    p.register(b, select.POLLIN)
    gt = greenlane.spawn(p.poll, HANG_GUARD * 1000)
    wait_until_parked(gt)
    a.close()
    [(fd, events)] = gt.wait()
    assert fd == b.fileno()
    assert events & (select.POLLIN | select.POLLHUP)


# -- epoll ---------------------------------------------------------------------


@needs_epoll
def test_epoll_wakes_on_readiness(pair: tuple[gsocket.socket, gsocket.socket]) -> None:
    a, b = pair
    with gselect.epoll() as ep:
        ep.register(b, select.EPOLLIN)
        assert repr(ep) == f"<greenlane.green.select.epoll fd={ep.fileno()}>"
        gt = greenlane.spawn(ep.poll, HANG_GUARD)
        wait_until_parked(gt)
        a.sendall(b"x")
        assert gt.wait() == [(b.fileno(), select.EPOLLIN)]
        ep.modify(b, select.EPOLLOUT)
        assert ep.poll(0) == [(b.fileno(), select.EPOLLOUT)]
        ep.unregister(b)
        assert ep.poll(0) == []
    assert ep.closed
    assert repr(ep) == "<greenlane.green.select.epoll closed>"


@needs_epoll
@pytest.mark.parametrize("forever", [None, -1, -0.5])
def test_epoll_none_or_negative_waits_without_limit(
    pair: tuple[gsocket.socket, gsocket.socket], forever: float | None
) -> None:
    a, b = pair
    with gselect.epoll() as ep:
        ep.register(b.fileno(), select.EPOLLIN)
        gt = greenlane.spawn(ep.poll, forever)
        wait_until_parked(gt)
        a.sendall(b"x")
        assert gt.wait() == [(b.fileno(), select.EPOLLIN)]


@needs_epoll
def test_epoll_times_out_and_empty_sets_sleep(pair: tuple[gsocket.socket, gsocket.socket]) -> None:
    _, b = pair
    with gselect.epoll() as ep:
        result, elapsed = timed(ep.poll, SHORT)
        assert result == []
        assert SHORT * 0.9 <= elapsed < HANG_GUARD
        ep.register(b, select.EPOLLIN)
        result, elapsed = timed(ep.poll, SHORT)
        assert result == []
        assert SHORT * 0.9 <= elapsed < HANG_GUARD
        assert ep.poll(0) == []


@needs_epoll
def test_epoll_maxevents_and_fromfd(pair: tuple[gsocket.socket, gsocket.socket]) -> None:
    a, b = pair
    with gselect.epoll() as ep:
        ep.register(a, select.EPOLLOUT)
        ep.register(b, select.EPOLLOUT)
        assert len(ep.poll(0, 1)) == 1
        assert len(ep.poll(0)) == 2
        with gselect.epoll.fromfd(os.dup(ep.fileno())) as again:
            assert len(again.poll(HANG_GUARD)) == 2


# -- selectors ---------------------------------------------------------------


SELECTORS = [
    pytest.param("SelectSelector"),
    pytest.param("PollSelector", marks=needs_poll),
    pytest.param("EpollSelector", marks=needs_epoll),
    pytest.param("DefaultSelector"),
]


@pytest.mark.parametrize("name", SELECTORS)
def test_selector_wakes_on_readiness(pair: tuple[gsocket.socket, gsocket.socket], name: str) -> None:
    a, b = pair
    with getattr(gselectors, name)() as sel:
        key = sel.register(b, selectors.EVENT_READ, data="payload")
        gt = greenlane.spawn(sel.select, HANG_GUARD)
        wait_until_parked(gt)
        a.sendall(b"x")
        assert gt.wait() == [(key, selectors.EVENT_READ)]
        assert sel.get_key(b).data == "payload"


@pytest.mark.parametrize("name", SELECTORS)
def test_selector_without_timeout_waits(pair: tuple[gsocket.socket, gsocket.socket], name: str) -> None:
    a, b = pair
    with getattr(gselectors, name)() as sel:
        key = sel.register(b, selectors.EVENT_READ)
        gt = greenlane.spawn(sel.select)
        wait_until_parked(gt)
        a.sendall(b"x")
        assert gt.wait() == [(key, selectors.EVENT_READ)]


@pytest.mark.parametrize("name", SELECTORS)
def test_selector_times_out(pair: tuple[gsocket.socket, gsocket.socket], name: str) -> None:
    _, b = pair
    with getattr(gselectors, name)() as sel:
        sel.register(b, selectors.EVENT_READ)
        result, elapsed = timed(sel.select, SHORT)
        assert result == []
        assert SHORT * 0.9 <= elapsed < HANG_GUARD
        # The stdlib's meaning: a timeout of 0 or less polls without waiting.
        for timeout in (0, -1):
            result, elapsed = timed(sel.select, timeout)
            assert result == []
            assert elapsed < HANG_GUARD


@pytest.mark.parametrize("name", SELECTORS)
def test_empty_selector_sleeps_for_the_timeout(name: str) -> None:
    with getattr(gselectors, name)() as sel:
        result, elapsed = timed(sel.select, SHORT)
        assert result == []
        assert SHORT * 0.9 <= elapsed < HANG_GUARD


@pytest.mark.parametrize("name", SELECTORS)
def test_selector_read_and_write_events(pair: tuple[gsocket.socket, gsocket.socket], name: str) -> None:
    a, b = pair
    with getattr(gselectors, name)() as sel:
        sel.register(a, selectors.EVENT_READ | selectors.EVENT_WRITE)
        [(key, events)] = sel.select(HANG_GUARD)
        assert (key.fileobj, events) == (a, selectors.EVENT_WRITE)
        b.sendall(b"x")
        [(key, events)] = sel.select(HANG_GUARD)
        assert events == selectors.EVENT_READ | selectors.EVENT_WRITE
        sel.modify(a, selectors.EVENT_READ)
        assert sel.select(0) == [(sel.get_key(a), selectors.EVENT_READ)]
        sel.unregister(a)
        assert sel.get_map() == {}


def test_notify_close_of_a_selected_fd_wakes_the_select_with_ioclosed(pair: Any) -> None:
    from greenlane.hubs import IOClosed

    a, _b = pair
    waiter = greenlane.spawn(gselect.select, [a], [], [])
    wait_until_parked(waiter)
    greenlane.get_hub().notify_close(a.fileno())  # what closing a socket the hub knows does
    with pytest.raises(IOClosed):
        waiter.wait()
    assert not greenlane.get_hub().io.close_watchers


def test_mark_as_reopened_wakes_a_select_on_a_plain_socket() -> None:
    from greenlane.hubs import IOClosed

    a, b = socket.socketpair()  # not green: only the fd number is known to the hub
    with a, b:
        waiter = greenlane.spawn(gselect.select, [a], [], [a])
        greenlane.sleep(0)
        wait_until_parked(waiter)
        greenlane.get_hub().mark_as_reopened(a.fileno())
        with pytest.raises(IOClosed):
            waiter.wait()
        done = greenlane.spawn(gselect.select, [a], [], [], 0.01)
        assert done.wait() == ([], [], [])  # nothing left watching: a later select is unaffected
    assert not greenlane.get_hub().io.close_watchers
