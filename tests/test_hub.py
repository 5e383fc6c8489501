"""The hub: pollers, fd waits, timers, deadlock detection, cross-thread calls, statistics."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator

import pytest

import greenlane
from greenlane import hubs
from greenlane._core import READ, DeadlockError, Hub, IOClosed, get_hub
from greenlane._core._timers import COMPACT_MIN
from greenlane.testing import fresh_hub, wait_until_parked


@pytest.fixture(params=["epoll", "poll", "select"])
def poller(request: pytest.FixtureRequest) -> Iterator[str]:
    hubs.use_hub(request.param)
    try:
        assert get_hub().poller_name == request.param
        yield request.param
    finally:
        greenlane.testing.assert_hub_empty()
        hubs.use_hub(None)


def test_trampoline_waits_for_readable_and_writable(poller: str) -> None:
    a, b = socket.socketpair()
    try:
        got: list[bytes] = []

        def reader() -> None:
            hubs.trampoline(a, read=True)
            got.append(a.recv(10))

        gt = greenlane.spawn(reader)
        wait_until_parked(gt)
        assert got == []
        assert [(rec.fileno, rec.evtype) for rec in get_hub().get_readers()] == [(a.fileno(), "read")]
        b.send(b"hi")
        gt.wait()
        assert got == [b"hi"]
        hubs.trampoline(b.fileno(), write=True, timeout=1)
    finally:
        a.close()
        b.close()


def test_trampoline_timeout_and_bad_arguments(poller: str) -> None:
    r, w = os.pipe()
    try:
        with pytest.raises(greenlane.Timeout):
            hubs.trampoline(r, read=True, timeout=0.01)
        with pytest.raises(KeyError):
            hubs.trampoline(r, read=True, timeout=0.01, timeout_exc=KeyError)
        with pytest.raises(ValueError, match="read=True or write=True"):
            hubs.trampoline(r)
        with pytest.raises(TypeError, match="fileno"):
            hubs.trampoline("fd", read=True)  # type: ignore[arg-type]
        stats = get_hub().statistics()
        assert (stats.readers, stats.timers) == (0, 0)
    finally:
        os.close(r)
        os.close(w)


def test_second_reader_on_same_fd_is_refused() -> None:
    r, w = os.pipe()
    try:
        gt = greenlane.spawn(hubs.trampoline, r, read=True)
        greenlane.sleep(0)
        with pytest.raises(RuntimeError, match=f"fd {r} already has a green thread waiting to read"):
            hubs.trampoline(r, read=True)
        os.write(w, b"x")
        gt.wait()
    finally:
        os.close(r)
        os.close(w)


def test_notify_close_wakes_the_waiter_with_ioclosed(poller: str) -> None:
    r, w = os.pipe()

    def reader() -> None:
        hubs.trampoline(r, read=True)

    gt = greenlane.spawn(reader)
    greenlane.sleep(0)
    hubs.notify_close(r)
    os.close(r)
    with pytest.raises(IOClosed, match="closed"):
        gt.wait()
    os.close(w)


def test_idle_registered_fd_does_not_spin() -> None:
    a, b = socket.socketpair()
    try:
        hub = get_hub()
        b.send(b"x")
        hub.wait_fd(a.fileno(), READ, keep=True)  # ready at once; stays registered (lazily)
        assert a.fileno() in hub.io.registered
        # Nobody waits on `a` any more but it stays readable: the hub must drop it
        # after one report rather than wake for it on every pass.
        before = hub.statistics().passes
        greenlane.sleep(0.05)
        assert hub.statistics().passes - before < 10
    finally:
        a.close()
        b.close()


def test_keep_registration_costs_no_syscall_per_wait() -> None:
    a, b = socket.socketpair()
    hub = get_hub()
    calls: list[str] = []
    real = hub.io.poller
    hub.io.poller = _Counting(real, calls)  # type: ignore[assignment]
    try:
        for _ in range(5):
            b.send(b"x")
            hub.wait_fd(a.fileno(), READ, keep=True)
            a.recv(1)
        assert calls == ["register"]
        hub.notify_close(a.fileno())
        assert calls == ["register", "unregister"]
    finally:
        hub.io.poller = real
        a.close()
        b.close()


class _Counting:
    def __init__(self, real: object, calls: list[str]) -> None:
        self._real = real
        self._calls = calls

    def __getattr__(self, name: str) -> object:
        attr = getattr(self._real, name)
        if name in ("register", "modify", "unregister"):
            self._calls.append(name)
        return attr


def test_fd_closed_without_notice_and_reused_still_works() -> None:
    a, b = socket.socketpair()
    b.send(b"x")
    hubs.trampoline(a, read=True)
    a.close()
    b.close()
    c, d = socket.socketpair()  # likely reuses the numbers
    try:
        gt = greenlane.spawn(hubs.trampoline, c, read=True, timeout=5)
        greenlane.sleep(0)
        d.send(b"y")
        gt.wait()
    finally:
        c.close()
        d.close()


def test_sleep_zero_loop_does_not_starve_io() -> None:
    a, b = socket.socketpair()
    stop = []
    try:
        def spinner() -> int:
            n = 0
            while not stop:
                greenlane.sleep(0)
                n += 1
            return n

        spin = greenlane.spawn(spinner)

        def reader() -> bytes:
            hubs.trampoline(a, read=True)
            return a.recv(1)

        rd = greenlane.spawn(reader)
        greenlane.sleep(0)
        b.send(b"z")
        assert rd.wait() == b"z"
        stop.append(True)
        assert spin.wait() < 100
    finally:
        a.close()
        b.close()


def test_sleep_zero_runs_every_other_ready_thread_once() -> None:
    seen: list[str] = []
    gts = [greenlane.spawn(seen.append, name) for name in "abc"]
    greenlane.sleep(0)
    assert seen == ["a", "b", "c"]
    for gt in gts:
        gt.wait()


def test_sleep_orders_by_deadline(virtual_clock: greenlane.testing.VirtualClock) -> None:
    order: list[float] = []
    gts = [greenlane.spawn(lambda d=d: (greenlane.sleep(d), order.append(d))) for d in (0.03, 0.01, 0.02)]
    for gt in gts:
        gt.wait()
    assert order == [0.01, 0.02, 0.03]
    assert virtual_clock.now() == pytest.approx(0.03)


def test_real_sleep_takes_about_that_long() -> None:
    start = time.monotonic()
    greenlane.sleep(0.05)
    elapsed = time.monotonic() - start
    assert 0.05 <= elapsed < 2  # generous upper bound: shared CI machines


def test_blocking_in_the_hub_greenlet_raises() -> None:
    hub = get_hub()
    errors: list[BaseException] = []

    def in_hub() -> None:
        for call in (lambda: greenlane.sleep(1), lambda: greenlane.Event().wait()):
            try:
                call()
            except RuntimeError as exc:
                errors.append(exc)
        greenlane.sleep(0)  # sleep(0) in the hub is a no-op

    hub.call_soon(in_hub)
    greenlane.sleep(0)
    assert len(errors) == 2
    assert all("hub greenlet" in str(e) for e in errors)


def test_callback_errors_are_logged_and_hub_survives(
    caplog: pytest.LogCaptureFixture, virtual_clock: greenlane.testing.VirtualClock
) -> None:
    hub = get_hub()

    def bad() -> None:
        raise ZeroDivisionError("in callback")

    hub.call_soon(bad)
    timer = hub.call_later(0, bad)
    greenlane.sleep(0.001)
    greenlane.sleep(0.001)
    assert not timer.pending
    assert caplog.text.count("ZeroDivisionError: in callback") == 2
    assert greenlane.spawn(lambda: 1).wait() == 1


def test_call_later_and_cancel(virtual_clock: greenlane.testing.VirtualClock) -> None:
    hub = get_hub()
    fired: list[int] = []
    t1 = hub.call_later(0.01, fired.append, 1)
    t2 = hub.call_later(0.005, fired.append, 2)
    t1.cancel()
    assert not t1.pending and t2.pending
    greenlane.sleep(0.03)
    assert fired == [2]
    assert "done" in repr(t2)


def test_timer_compaction_keeps_heap_small() -> None:
    hub = get_hub()
    for _ in range(10 * COMPACT_MIN):
        hub.call_later(100, print).cancel()
    assert len(hub._timers._heap) <= COMPACT_MIN + 1
    assert hub.statistics().timers == 0


def test_deadlock_in_main_raises_naming_the_wait() -> None:
    with pytest.raises(DeadlockError, match="event"):
        greenlane.Event().wait()
    gt = greenlane.spawn(greenlane.Event().wait)
    with pytest.raises(DeadlockError, match=r"green thread .*1 other green thread"):
        gt.wait()
    gt.kill()


def test_no_deadlock_while_another_thread_holds_pending_work() -> None:
    hub = get_hub()
    ev: greenlane.Event[str] = greenlane.Event()
    hub.hold_external()

    def worker() -> None:
        _until_the_hub_polls(hub)  # idle with only the held work pending: no deadlock error
        hub.call_soon_threadsafe(ev.send, "from thread")
        hub.release_external()  # from the other thread: routed through the hub

    thread = threading.Thread(target=worker)
    thread.start()
    assert ev.wait() == "from thread"
    thread.join()
    greenlane.sleep(0)
    assert hub._pending_external == 0


def _until_the_hub_polls(hub: Hub) -> None:
    """In a native thread: return once ``hub`` sleeps in its poller (a hand-shake on the hub's state)."""
    deadline = time.monotonic() + 30  # a hang guard, not a synchronisation
    while not hub.statistics().polling:
        assert time.monotonic() < deadline, "the hub never went to sleep in its poller"
        time.sleep(0.0005)


def test_call_soon_threadsafe_wakes_a_sleeping_hub() -> None:
    hub = get_hub()
    woke: list[float] = []
    start = time.monotonic()

    def poke() -> None:
        _until_the_hub_polls(hub)  # asleep in its poll, with a 1.5 s timer
        hub.call_soon_threadsafe(lambda: woke.append(time.monotonic() - start))

    thread = threading.Thread(target=poke)
    thread.start()
    greenlane.sleep(1.5)  # the hub sleeps in its poll; the poke must still run on time
    thread.join()
    assert woke and woke[0] < 1.0


def test_cross_thread_throw_is_a_clear_error() -> None:
    hub = get_hub()
    errors: list[BaseException] = []
    gt = greenlane.spawn(greenlane.sleep, 1)
    greenlane.sleep(0)

    def other() -> None:
        try:
            gt.kill()
        except Exception as exc:
            errors.append(exc)

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert isinstance(errors[0], greenlane.CrossThreadError)
    gt.kill()
    assert hub.statistics().green_threads == 0


def test_each_os_thread_has_its_own_hub() -> None:
    results: list[object] = []

    def in_thread() -> None:
        results.append(get_hub())
        results.append(greenlane.spawn(lambda: "green in thread").wait())
        # The main thread is alive and could signal this hub: no deadlock error here.
        results.append(greenlane.Event().wait(0.01))

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join()
    assert results[0] is not get_hub()
    assert results[1:] == ["green in thread", None]


def test_no_deadlock_error_while_another_os_thread_is_alive() -> None:
    ev: greenlane.Event[str] = greenlane.Event()
    hub = get_hub()
    thread = threading.Thread(target=lambda: (_until_the_hub_polls(hub), ev.send("native")))
    thread.start()  # it could send at any time, and does once the hub idles
    assert ev.wait() == "native"
    thread.join()


def test_statistics_move() -> None:
    hub = get_hub()
    s0 = hub.statistics()
    gts = [greenlane.spawn(greenlane.sleep, 0.01) for _ in range(3)]
    s1 = hub.statistics()
    assert s1.green_threads == s0.green_threads + 3
    greenlane.sleep(0)
    assert hub.statistics().timers == 3
    assert hub.get_timers_count() == 3
    for gt in gts:
        gt.wait()
    s2 = hub.statistics()
    assert s2.switches > s1.switches and s2.passes > s1.passes
    assert s2.green_threads == 0 and s2.timers == 0
    assert "green_threads=0" in repr(hub)


def test_use_hub_rejects_unknown_and_busy() -> None:
    with pytest.raises(ValueError, match="'kqueue2'"):
        hubs.use_hub("kqueue2")
    gt = greenlane.spawn(greenlane.sleep, 0.01)
    with pytest.raises(RuntimeError, match="still has work"):
        hubs.use_hub("poll")
    gt.wait()
    hubs.use_hub(None)


def test_env_var_picks_poller_and_bad_value_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GREENLANE_HUB", "select")
    with fresh_hub() as hub:
        assert hub.poller_name == "select"
    monkeypatch.setenv("GREENLANE_HUB", "bogus")
    with pytest.raises(ValueError, match="GREENLANE_HUB='bogus'"):
        greenlane.config.read_config()
    monkeypatch.setenv("GREENLANE_HUB", "")
    monkeypatch.setenv("GREENLANE_THREADPOOL_SIZE", "-3")
    with pytest.raises(ValueError, match="GREENLANE_THREADPOOL_SIZE='-3'"):
        greenlane.config.read_config()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("GREENLANE_MAX_BLOCKING_TIME", "nan", "GREENLANE_MAX_BLOCKING_TIME='nan' is not a number"),
        ("GREENLANE_MAX_BLOCKING_TIME", "inf", "GREENLANE_MAX_BLOCKING_TIME='inf' is not a number"),
        ("GREENLANE_MAX_BLOCKING_TIME", "-1", "GREENLANE_MAX_BLOCKING_TIME='-1' must not be negative"),
        ("GREENLANE_MAX_BLOCKING_TIME", "soon", "GREENLANE_MAX_BLOCKING_TIME='soon' is not a number"),
        ("GREENLANE_THREADPOOL_SIZE", "1025", "GREENLANE_THREADPOOL_SIZE='1025' is above the maximum"),
        ("GREENLANE_THREADPOOL_SIZE", "2.5", "GREENLANE_THREADPOOL_SIZE='2.5' is not an integer"),
    ],
)
def test_bad_numbers_in_the_environment_say_what_is_wrong(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError) as info:
        greenlane.config.read_config()
    assert str(info.value).startswith(message)


def test_equal_deadlines_fire_fifo_even_past_a_raising_callback(
    virtual_clock: greenlane.testing.VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    hub = get_hub()
    fired: list[str] = []

    def boom() -> None:
        raise RuntimeError("timer broke")

    def add_same_deadline() -> None:
        fired.append("adder")
        hub.call_later(0, fired.append, "added")  # same virtual instant: same bucket

    hub.call_later(5, fired.append, "a")
    cancelled = hub.call_later(5, fired.append, "cancelled")
    hub.call_later(5, boom)
    hub.call_later(5, add_same_deadline)
    hub.call_later(5, fired.append, "b")
    cancelled.cancel()
    assert hub.statistics().timers == 4
    greenlane.sleep(10)
    assert fired == ["a", "adder", "b", "added"]
    assert "timer broke" in caplog.text
    assert hub.statistics().timers == 0
    assert len(hub._timers._due) == 0 and len(hub._timers._heap) == 0


def test_refused_use_hub_changes_nothing() -> None:
    gt = greenlane.spawn(greenlane.sleep, 0.01)
    with pytest.raises(RuntimeError, match="still has work"):
        hubs.use_hub("select")
    gt.wait()
    with fresh_hub() as hub:
        assert hub.poller_name != "select" or os.environ.get("GREENLANE_HUB") == "select"


def test_call_soon_from_another_thread_is_refused() -> None:
    hub = get_hub()
    errors: list[BaseException] = []

    def other() -> None:
        for call in (lambda: hub.call_soon(print), lambda: hub.call_later(1, print)):
            try:
                call()
            except greenlane.CrossThreadError as exc:
                errors.append(exc)

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert len(errors) == 2
    assert "call_soon_threadsafe" in str(errors[0])


def test_eventlet_schedule_call_global_and_local(virtual_clock: greenlane.testing.VirtualClock) -> None:
    hub = get_hub()
    fired: list[tuple[str, int]] = []
    hub.schedule_call_global(1, lambda x, *, tag: fired.append((tag, x)), 1, tag="global")

    def schedules_then_ends() -> None:
        hub.schedule_call_local(1, lambda: fired.append(("local of ended", 0)))

    greenlane.spawn(schedules_then_ends).wait()
    hub.schedule_call_local(2, lambda: fired.append(("local of main", 2)))
    greenlane.sleep(3)
    assert fired == [("global", 1), ("local of main", 2)]


def test_a_listed_timer_handle_cannot_cancel_a_later_reuse_of_its_entry(
    virtual_clock: greenlane.testing.VirtualClock,
) -> None:
    hub = get_hub()
    sleeper_handles: list[object] = []

    def sleeper() -> None:
        greenlane.sleep(0.01)
        greenlane.sleep(0.01)  # may reuse the first sleep's timer entry

    gt = greenlane.spawn(sleeper)
    greenlane.sleep(0)
    sleeper_handles.extend(hub.timers())
    greenlane.sleep(0.015)  # first sleep fired; the second is armed
    for handle in sleeper_handles:
        handle.cancel()  # type: ignore[attr-defined]  # stale: must not touch the second sleep
    with greenlane.Timeout(2):
        gt.wait()
