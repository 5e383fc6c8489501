"""eventlet's hub surface: listener records, add/remove, switch/abort, timers, hub modules, asyncio names."""

from __future__ import annotations

import errno
import logging
import os
import select
import socket
import warnings
from collections.abc import Iterator

import greenlet
import pytest

import greenlane
from greenlane import debug, hubs
from greenlane.hubs import IOClosed, get_hub
from greenlane.hubs import hub as hub_module
from greenlane.hubs import timer as timer_module
from greenlane.testing import VirtualClock


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    r, w = os.pipe()
    os.set_blocking(r, False)
    try:
        yield r, w
    finally:
        os.close(r)
        os.close(w)


def _settle(until: object, passes: int = 50) -> None:
    for _ in range(passes):
        if until():  # type: ignore[operator]
            return
        greenlane.sleep(0)
    raise AssertionError(f"never reached: {until}")


# -- records and counters ---------------------------------------------------------


def test_reader_and_writer_records_have_eventlets_listener_fields(pipe: tuple[int, int]) -> None:
    r, _w = pipe
    gt = greenlane.spawn(hubs.trampoline, r, read=True)
    _settle(lambda: get_hub().get_readers())
    (rec,) = get_hub().get_readers()
    assert (rec.evtype, rec.fileno) == (hub_module.READ, r) == ("read", r)
    assert rec.greenlet.task is gt  # type: ignore[attr-defined]
    assert get_hub().get_writers() == []
    assert hub_module.WRITE == "write"
    assert isinstance(get_hub(), hub_module.BaseHub)
    gt.kill()


def test_timer_counts_follow_eventlets_meaning() -> None:
    hub = get_hub()
    timers = [hub.schedule_call_global(60, lambda: None) for _ in range(3)]
    timers[0].cancel()
    # eventlet counts the timers it holds, cancelled ones not yet dropped included.
    assert (hub.get_timers_count(), hub.timers_canceled, hub.statistics().timers) == (3, 1, 2)
    assert hub.next_timers == []
    for t in timers:
        t.cancel()


# -- listeners ----------------------------------------------------------------------


def test_trampoline_written_with_add_switch_remove(pipe: tuple[int, int]) -> None:
    """eventlet's own trampoline: hand the hub this greenlet's switch/throw, switch, remove."""
    r, w = pipe
    got: list[object] = []

    def eventlet_style_wait() -> None:
        hub = get_hub()
        current = greenlet.getcurrent()  # as eventlet's trampoline: the raw greenlet
        listener = hub.add(hub_module.READ, r, current.switch, current.throw, None)
        try:
            got.append(hub.switch())
        finally:
            hub.remove(listener)
        got.append(os.read(r, 1))

    gt = greenlane.spawn(eventlet_style_wait)
    _settle(lambda: get_hub().get_readers())
    assert got == []
    os.write(w, b"x")
    gt.wait()
    assert got == [r, b"x"]  # switch() returns what the listener woke it with: the fd


def test_a_listener_calls_back_each_time_until_removed(pipe: tuple[int, int]) -> None:
    r, w = pipe
    seen: list[bytes] = []
    listener = get_hub().add("read", r, lambda fd: seen.append(os.read(fd, 1)), lambda exc: None)
    assert repr(listener).startswith("<FdListener read fd=")
    for byte in (b"a", b"b", b"c"):
        os.write(w, byte)
        _settle(lambda byte=byte: seen[-1:] == [byte])
    assert [(x.fileno, x.evtype) for x in get_hub().get_readers()] == [(r, "read")]
    get_hub().remove(listener)
    get_hub().remove(listener)  # idempotent
    _settle(lambda: not get_hub().get_readers())
    assert listener.spent
    assert seen == [b"a", b"b", b"c"]


def test_a_listener_removed_before_it_starts_never_runs(pipe: tuple[int, int]) -> None:
    r, _w = pipe
    listener = get_hub().add("read", r, lambda fd: None, lambda exc: None)
    get_hub().remove(listener)
    greenlane.sleep(0)
    assert get_hub().statistics().green_threads == 0


def test_closing_a_listened_fd_marks_it_closed_then_throws_back(pipe: tuple[int, int]) -> None:
    r, _w = pipe
    events: list[object] = []
    get_hub().add(
        "read", r, lambda fd: events.append("ready"), events.append,
        lambda: events.append("marked"),
    )
    _settle(lambda: get_hub().get_readers())
    hubs.notify_close(r)
    _settle(lambda: len(events) == 2)
    assert events[0] == "marked"
    assert isinstance(events[1], IOClosed) and events[1].errno == errno.EBADF


def test_a_second_listener_is_refused_by_default(pipe: tuple[int, int]) -> None:
    r, _w = pipe
    first = get_hub().add("read", r, lambda fd: None, lambda exc: None)
    _settle(lambda: get_hub().get_readers())
    with pytest.raises(RuntimeError, match=f"fd {r} already has a green thread waiting to read"):
        get_hub().add("read", r, lambda fd: None, lambda exc: None)
    with pytest.raises(ValueError, match="'sideways'"):
        get_hub().add("sideways", r, lambda fd: None, lambda exc: None)
    get_hub().remove(first)


def test_a_failing_callback_is_logged_and_its_listener_dropped(
    pipe: tuple[int, int], caplog: pytest.LogCaptureFixture
) -> None:
    r, w = pipe
    listener = get_hub().add("read", r, lambda fd: {}[fd], lambda exc: None)
    os.write(w, b"x")
    with caplog.at_level(logging.DEBUG, logger="greenlane.hub"):
        _settle(lambda: listener.spent and not get_hub().get_readers())
    (record,) = [rec for rec in caplog.records if "listener" in rec.getMessage()]
    assert record.levelno == logging.ERROR and record.exc_info is not None


def test_debug_exceptions_off_demotes_hub_errors_to_debug(caplog: pytest.LogCaptureFixture) -> None:
    hub = get_hub()
    debug.hub_exceptions(False)
    assert hub.debug_exceptions is False
    hub.call_soon(lambda: 1 // 0)
    with caplog.at_level(logging.DEBUG, logger="greenlane.hub"):
        greenlane.sleep(0)
        greenlane.sleep(0)
    (record,) = [rec for rec in caplog.records if rec.exc_info]
    assert record.levelno == logging.DEBUG  # still there, never silenced
    hub.set_timer_exceptions(True)
    assert hub.debug_exceptions is True


# -- switch and abort ---------------------------------------------------------------


def test_abort_wakes_the_main_green_thread_from_switch() -> None:
    """eventlet's timer_test: a timer aborts the hub and the main green thread's switch() returns."""
    hub = get_hub()
    called: list[bool] = []
    hub.schedule_call_global(0, lambda: (called.append(True), hub.abort()))
    hub.switch()
    assert called == [True]
    assert not hub.running
    greenlane.spawn(lambda: None).wait()  # the hub still runs green threads after abort
    assert hub.default_sleep() == 60.0


def test_a_thread_in_switch_is_woken_by_a_kill() -> None:
    gt = greenlane.spawn(get_hub().switch)
    greenlane.sleep(0)
    assert f"{gt!r}: waiting on hub.switch()" in debug.format_greenthreads()
    gt.kill()
    assert gt.dead


# -- hubs.timer -----------------------------------------------------------------------


def test_eventlet_timer_runs_once_after_schedule(virtual_clock: VirtualClock) -> None:
    fired: list[object] = []
    t = timer_module.Timer(2, fired.append, "x")
    assert (t.seconds, t.called, t.pending) == (2, False, True)
    copy = t.copy()
    assert (copy.seconds, copy.tpl) == (t.seconds, t.tpl)
    greenlane.sleep(5)
    assert fired == []  # not scheduled: does nothing
    assert t.schedule() is t
    greenlane.sleep(1)
    assert fired == []
    greenlane.sleep(1)
    assert fired == ["x"] and t.called and not t.pending
    t()  # called once only
    t.cancel()
    assert fired == ["x"]


def test_eventlet_timer_cancel(virtual_clock: VirtualClock) -> None:
    fired: list[object] = []
    t = timer_module.Timer(1, fired.append, "x").schedule()
    t.cancel()
    t.cancel()
    greenlane.sleep(2)
    assert fired == [] and t.called and not hasattr(t, "tpl")


def test_local_timer_is_skipped_once_its_thread_ended(virtual_clock: VirtualClock) -> None:
    fired: list[str] = []

    def arm(tag: str) -> None:
        timer_module.LocalTimer(1, fired.append, tag).schedule()

    greenlane.spawn(arm, "ended").wait()
    arm("main")
    greenlane.sleep(2)
    assert fired == ["main"]


# -- hub modules and use_hub ------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "poller"),
    [
        ("epolls", "epoll"),
        ("poll", "poll"),
        ("selects", "select"),
        ("greenlane.hubs.poll", "poll"),
        ("greenlane.hubs.selects:Hub", "select"),
    ],
)
def test_use_hub_takes_names_modules_and_classes(spec: str, poller: str) -> None:
    if poller == "epoll" and not hasattr(select, "epoll"):
        pytest.skip("no epoll on this system")
    from greenlane.hubs import epolls, poll, selects

    module = {"epoll": epolls, "poll": poll, "select": selects}[poller]
    for how in (spec, module, module.Hub):
        hubs.use_hub(how)
        try:
            assert get_hub().poller_name == poller, how
        finally:
            hubs.use_hub(None)
    assert module.is_available()
    made = module.Hub()
    try:
        assert made.poller_name == poller
        assert type(made).__module__ == module.__name__
    finally:
        made.close()


def test_use_hub_refuses_what_greenlane_cannot_run() -> None:
    class Foo:
        pass

    with pytest.raises(TypeError, match="cannot run its green threads on"):
        hubs.use_hub(Foo)
    from greenlane.hubs import kqueue

    assert not kqueue.is_available()
    with pytest.raises(RuntimeError, match="not available on this system"):
        hubs.use_hub(kqueue)
    with pytest.raises(ValueError, match="is for the asyncio hub"):
        hubs.use_hub("poll", loop_factory=lambda: None)
    with pytest.raises(ValueError, match="unknown hub"):
        hubs.use_hub("")


def test_get_default_hub_is_the_module_greenlane_picks() -> None:
    default = hubs.get_default_hub()
    assert default.is_available()
    expected = "epolls" if hasattr(select, "epoll") else "poll"
    assert default.__name__ == f"greenlane.hubs.{expected}"


def test_notify_opened_wakes_a_stale_waiter() -> None:
    a, b = socket.socketpair()
    try:
        errors: list[int | None] = []

        def wait() -> None:
            try:
                hubs.trampoline(a.fileno(), read=True)
            except IOClosed as exc:
                errors.append(exc.errno)

        gt = greenlane.spawn(wait)
        _settle(lambda: get_hub().get_readers())
        hubs.notify_opened(a.fileno())  # "this number was just handed out again"
        gt.wait()
        assert errors == [errno.EBADF]
    finally:
        a.close()
        b.close()


def test_g_prevent_multiple_readers_reads_the_setting() -> None:
    assert hub_module.g_prevent_multiple_readers is True
    debug.hub_prevent_multiple_readers(False)
    try:
        assert hub_module.g_prevent_multiple_readers is False
    finally:
        debug.hub_prevent_multiple_readers(True)


# -- asyncio names ------------------------------------------------------------------------


def test_asyncio_hub_class_is_exactly_the_hubs_on_the_asyncio_loop() -> None:
    from greenlane.hubs import asyncio as asyncio_hub

    assert asyncio_hub.is_available()
    native = isinstance(get_hub(), asyncio_hub.Hub)  # oslo.log's check
    assert native == (get_hub().poller_name == "asyncio")


@pytest.mark.skipif(os.environ.get("GREENLANE_HUB") == "asyncio", reason="the native hub's error")
def test_spawn_for_awaitable_says_why_it_cannot() -> None:
    from greenlane import asyncio as green_asyncio

    async def job() -> int:
        return 1

    coro = job()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a never-awaited coroutine would warn
        with pytest.raises(RuntimeError, match=r"spawn_for_awaitable\(<coroutine .*use_hub\(.asyncio.\)"):
            green_asyncio.spawn_for_awaitable(coro)
    assert coro.cr_frame is None  # closed


def test_green_select_is_woken_when_a_selected_fd_is_announced_closed() -> None:
    from greenlane.green import select as green_select

    a, b = socket.socketpair()
    other_a, other_b = socket.socketpair()
    try:
        outcome: list[object] = []

        def selecting() -> None:
            try:
                outcome.append(green_select.select([a, other_a], [], []))
            except IOClosed as exc:
                outcome.append(exc.errno)

        gt = greenlane.spawn(selecting)
        _settle(lambda: a.fileno() in get_hub().io.close_watchers)
        hubs.notify_opened(a.fileno())  # eventlet's test: "the number was handed out again"
        gt.wait()
        assert outcome == [errno.EBADF]
        assert get_hub().io.close_watchers == {}
        # A select that ends normally leaves no watcher behind either.
        gt = greenlane.spawn(selecting)
        _settle(lambda: a.fileno() in get_hub().io.close_watchers)
        other_b.send(b"x")
        gt.wait()
        assert outcome[-1] == ([other_a], [], [])
        assert get_hub().io.close_watchers == {}
    finally:
        for s in (a, b, other_a, other_b):
            s.close()
