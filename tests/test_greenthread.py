"""spawn / wait / link / kill / cancel and the Future face of GreenThread."""

from __future__ import annotations

import contextvars
import gc
import logging
from concurrent.futures import CancelledError
from concurrent.futures import TimeoutError as FuturesTimeoutError
from typing import Any

import pytest

import greenlane
from greenlane import GreenletExit, GreenThread, greenthread
from greenlane.testing import VirtualClock, wait_until, wait_until_parked


def test_spawn_runs_with_args_and_returns_result() -> None:
    gt = greenlane.spawn(lambda a, b=0: a + b, 2, b=3)
    assert isinstance(gt, GreenThread)
    assert not gt.dead
    assert gt.wait() == 5
    assert gt.dead


def test_spawned_threads_run_concurrently() -> None:
    order: list[str] = []

    def worker(name: str) -> None:
        order.append(f"{name}1")
        greenlane.sleep(0)
        order.append(f"{name}2")

    gts = [greenlane.spawn(worker, n) for n in "ab"]
    for gt in gts:
        gt.wait()
    assert order == ["a1", "b1", "a2", "b2"]


def test_spawn_does_not_run_until_the_spawner_yields() -> None:
    ran: list[int] = []
    gt = greenlane.spawn(ran.append, 1)
    assert ran == []
    greenlane.sleep(0)
    assert ran == [1]
    gt.wait()


def test_spawn_rejects_non_callable() -> None:
    with pytest.raises(TypeError, match="42"):
        greenlane.spawn(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="'nope'"):
        greenlane.spawn_n("nope")  # type: ignore[arg-type]


def test_callable_is_positional_only_so_user_kwargs_pass_through() -> None:
    def f(**kw: Any) -> dict[str, Any]:
        return kw

    assert greenlane.spawn(f, fn=1, seconds=2).wait() == {"fn": 1, "seconds": 2}
    assert greenlane.spawn_after(0, f, fn=3).wait() == {"fn": 3}


def test_the_function_may_be_passed_as_func_keyword_as_in_eventlet() -> None:
    # oslo.service's WSGI server: eventlet.spawn(func=eventlet.wsgi.server, sock=..., site=...)
    def f(**kw: Any) -> dict[str, Any]:
        return kw

    assert greenlane.spawn(func=f, sock=1).wait() == {"sock": 1}
    assert greenlane.spawn_after(0, func=f, site=2).wait() == {"site": 2}
    got: list[dict[str, Any]] = []
    greenlane.spawn_n(func=lambda **kw: got.append(kw), log=3)
    greenlane.sleep(0)
    assert got == [{"log": 3}]
    # With the function positional, ``func=`` is the target's own argument.
    assert greenlane.spawn(f, func=4).wait() == {"func": 4}
    with pytest.raises(TypeError, match="spawn\\(\\) needs a callable, not None"):
        greenlane.spawn(sock=1)
    with pytest.raises(TypeError, match="'x'"):
        greenlane.spawn(func="x")


def test_wait_reraises_with_traceback() -> None:
    def boom() -> None:
        raise ValueError("bad")

    gt = greenlane.spawn(boom)
    with pytest.raises(ValueError, match="bad") as info:
        gt.wait()
    assert any(entry.name == "boom" for entry in info.traceback)
    with pytest.raises(ValueError):  # again: same outcome
        gt.wait()


# What each call gives, by how the thread ended (the table in greenthread's docstring).
def _returns() -> GreenThread[Any]:
    gt = greenlane.spawn(lambda: "v")
    greenlane.sleep(0)
    return gt


def _raises() -> GreenThread[Any]:
    def f() -> None:
        raise KeyError("e")

    gt = greenlane.spawn(f)
    greenlane.sleep(0)
    return gt


def _killed() -> GreenThread[Any]:
    gt = greenlane.spawn(greenlane.sleep, 10)
    greenlane.sleep(0)
    gt.kill()
    return gt


def _cancelled() -> GreenThread[Any]:
    gt = greenlane.spawn(greenlane.sleep, 10)
    assert gt.cancel() is True
    return gt


def _killed_before_start() -> GreenThread[Any]:
    gt = greenlane.spawn(greenlane.sleep, 10)
    gt.kill()
    return gt


@pytest.mark.parametrize(
    ("make", "wait", "result", "exception", "cancelled"),
    [
        (_returns, "v", "v", None, False),
        (_raises, KeyError, KeyError, KeyError, False),
        (_killed, GreenletExit, GreenletExit, GreenletExit, False),
        (_cancelled, GreenletExit, CancelledError, CancelledError, True),
        (_killed_before_start, GreenletExit, CancelledError, CancelledError, True),
    ],
)
def test_outcome_table(make: Any, wait: Any, result: Any, exception: Any, cancelled: bool) -> None:
    gt = make()
    linked: list[GreenThread[Any]] = []
    gt.link(linked.append)  # already ended: called at once
    assert linked == [gt]

    def check(call: Any, expected: Any) -> None:
        if isinstance(expected, type) and issubclass(expected, BaseException):
            with pytest.raises(expected):
                call()
        else:
            assert call() == expected

    check(gt.wait, wait)
    check(gt.result, result)
    if exception is CancelledError:
        check(gt.exception, CancelledError)
    elif exception is None:
        assert gt.exception() is None
    else:
        assert isinstance(gt.exception(), exception)
    assert gt.done() and gt.dead
    assert gt.cancelled() is cancelled
    assert not gt.running()


def test_links_run_on_end_in_order_with_args_and_unlink() -> None:
    calls: list[tuple[Any, ...]] = []
    ev = greenlane.Event()
    gt = greenlane.spawn(ev.wait)

    def first(g: GreenThread[Any], x: int, *, y: int) -> None:
        calls.append(("first", g, x, y))

    def second(g: GreenThread[Any]) -> None:
        calls.append(("second", g.wait()))

    def never(g: GreenThread[Any]) -> None:
        calls.append(("never",))

    gt.link(first, 1, y=2)
    gt.link(second)
    gt.link(never)
    assert gt.unlink(never) is True
    assert gt.unlink(never) is False
    ev.send("done")
    assert gt.wait() == "done"
    assert calls == [("first", gt, 1, 2), ("second", "done")]


def test_failing_link_is_logged_and_others_still_run(caplog: pytest.LogCaptureFixture) -> None:
    ran: list[str] = []

    def bad(g: GreenThread[Any]) -> None:
        raise RuntimeError("link broke")

    gt = greenlane.spawn(lambda: None)
    gt.link(bad)
    gt.link(lambda g: ran.append("ok"))
    with caplog.at_level(logging.ERROR, logger="greenlane"):
        gt.wait()
    assert ran == ["ok"]
    assert "link broke" in caplog.text


def test_add_done_callback_and_running() -> None:
    seen: list[bool] = []
    ev = greenlane.Event()
    gt = greenlane.spawn(ev.wait)
    gt.add_done_callback(lambda g: seen.append(g.done()))
    assert not gt.running()  # queued, not started
    greenlane.sleep(0)
    assert gt.running()
    ev.send(1)
    gt.wait()
    assert seen == [True]


def test_result_timeout_raises_futures_timeout_and_keeps_thread() -> None:
    ev = greenlane.Event()
    gt = greenlane.spawn(ev.wait)
    with pytest.raises(FuturesTimeoutError):
        gt.result(timeout=0.01)
    with pytest.raises(FuturesTimeoutError):
        gt.exception(timeout=0.01)
    ev.send(7)
    assert gt.result(timeout=5) == 7


def test_cancel_after_start_returns_false_and_thread_finishes() -> None:
    gt = greenlane.spawn(greenlane.sleep, 0.01)
    greenlane.sleep(0)
    assert gt.cancel() is False
    assert gt.wait() is None
    assert not gt.cancelled()


def test_kill_with_custom_exception_and_throw_args() -> None:
    caught: list[BaseException] = []

    def victim() -> str:
        try:
            greenlane.sleep(10)
        except ValueError as exc:
            caught.append(exc)
            return "handled"
        return "slept"

    gt = greenlane.spawn(victim)
    greenlane.sleep(0)
    greenlane.kill(gt, ValueError, "stop")
    assert gt.wait() == "handled"
    assert str(caught[0]) == "stop"
    with pytest.raises(TypeError, match="not 3"):
        greenthread._exception_from((3,))


def test_kill_returns_after_the_target_handled_it() -> None:
    state: list[str] = []

    def victim() -> None:
        try:
            greenlane.sleep(10)
        finally:
            state.append("cleaned")

    gt = greenlane.spawn(victim)
    greenlane.sleep(0)
    gt.kill()
    assert state == ["cleaned"]
    assert gt.dead


def test_kill_self_raises_in_place_and_dead_kill_is_noop() -> None:
    def suicide() -> None:
        greenlane.getcurrent().kill()

    gt = greenlane.spawn(suicide)
    with pytest.raises(GreenletExit):
        gt.wait()
    gt.kill()  # dead: nothing happens


def test_wait_on_self_raises() -> None:
    def me() -> None:
        greenlane.getcurrent().wait()

    with pytest.raises(RuntimeError, match="itself"):
        greenlane.spawn(me).wait()


@pytest.mark.parametrize("wait_kind", ["sleep", "event", "join", "fd"])
def test_killing_a_blocked_thread_leaves_nothing_behind(wait_kind: str) -> None:
    import os

    r, w = os.pipe()
    ev = greenlane.Event()
    other = greenlane.spawn(ev.wait)
    waits = {
        "sleep": lambda: greenlane.sleep(100),
        "event": lambda: ev.wait(100),
        "join": other.wait,
        "fd": lambda: greenlane.trampoline(r, read=True, timeout=100),
    }
    gt = greenlane.spawn(waits[wait_kind])
    greenlane.sleep(0)
    hub = greenlane.get_hub()
    assert hub.statistics().timers >= (0 if wait_kind == "join" else 1)
    gt.kill()
    assert gt.dead
    ev.send(None)
    other.wait()
    stats = hub.statistics()
    assert (stats.timers, stats.readers, stats.writers, stats.green_threads) == (0, 0, 0, 0)
    assert len(ev._waiters) == 0
    os.close(r)
    os.close(w)


def test_spawn_after_delays_and_can_be_cancelled() -> None:
    hub = greenlane.get_hub()
    ran: list[str] = []
    late = greenlane.spawn_after(0.02, ran.append, "late")
    never = greenlane.spawn_after(0.01, ran.append, "never")
    assert never.cancel() is True
    assert hub.statistics().timers == 1
    late.wait()
    assert ran == ["late"]
    with pytest.raises(ValueError, match="-1"):
        greenlane.spawn_after(-1, print)


def test_spawn_n_failure_is_logged_at_once(caplog: pytest.LogCaptureFixture) -> None:
    def boom() -> None:
        raise OSError("spawn_n broke")

    with caplog.at_level(logging.ERROR, logger="greenlane"):
        handle = greenlane.spawn_n(boom)
        assert not handle.dead
        greenlane.sleep(0)
        assert handle.dead
    assert "spawn_n broke" in caplog.text
    assert "boom" in caplog.text


def test_unretrieved_exception_is_logged_when_collected(caplog: pytest.LogCaptureFixture) -> None:
    def boom() -> None:
        raise LookupError("nobody looked")

    with caplog.at_level(logging.ERROR, logger="greenlane"):
        gt = greenlane.spawn(boom)
        greenlane.sleep(0)
        assert gt.dead
        del gt
        gc.collect()
    assert "nobody looked" in caplog.text
    assert "nobody retrieved" in caplog.text


@pytest.mark.parametrize("retrieve", ["wait", "result", "exception", "link_wait"])
def test_retrieved_exception_is_not_logged(retrieve: str, caplog: pytest.LogCaptureFixture) -> None:
    def boom() -> None:
        raise LookupError("seen")

    with caplog.at_level(logging.ERROR, logger="greenlane"):
        gt = greenlane.spawn(boom)
        if retrieve == "link_wait":
            def retrieve_in_link(g: GreenThread[Any]) -> None:
                with pytest.raises(LookupError):
                    g.wait()

            gt.link(retrieve_in_link)
            greenlane.sleep(0)
        elif retrieve == "exception":
            gt.exception()
        else:
            with pytest.raises(LookupError):
                getattr(gt, retrieve)()
        del gt
        gc.collect()
    assert "nobody retrieved" not in caplog.text


def test_kill_is_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="greenlane"):
        gt = greenlane.spawn(greenlane.sleep, 10)
        greenlane.sleep(0)
        gt.kill()
        del gt
        gc.collect()
    assert caplog.text == ""


def test_contextvars_are_copied_from_the_spawner() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    var.set("parent")

    def child() -> tuple[str, str]:
        seen = var.get()
        var.set("child")
        greenlane.sleep(0)
        return seen, var.get()

    gt = greenlane.spawn(child)
    var.set("changed after spawn")
    assert gt.wait() == ("parent", "child")
    assert var.get() == "changed after spawn"


def test_getcurrent_identity_and_attributes_are_per_thread() -> None:
    seen: list[Any] = []

    def tagger(tag: str) -> None:
        me = greenlane.getcurrent()
        assert getattr(me, "test_case_id", None) is None  # never sees another's attribute
        me.test_case_id = tag
        greenlane.sleep(0)
        seen.append((me is greenlane.getcurrent(), greenlane.getcurrent().test_case_id))

    gts = [greenlane.spawn(tagger, t) for t in ("a", "b", "c")]
    for gt in gts:
        gt.wait()
    # Threads run on reused workers, one after another: still no attribute leaks.
    for t in ("d", "e"):
        greenlane.spawn(tagger, t).wait()
    assert seen == [(True, "a"), (True, "b"), (True, "c"), (True, "d"), (True, "e")]
    assert greenlane.spawn(greenlane.getcurrent).wait() is not greenlane.getcurrent()


def test_many_threads_reuse_workers() -> None:
    gts = [greenlane.spawn(lambda i=i: i * 2) for i in range(5000)]
    assert sum(gt.wait() for gt in gts) == 2 * sum(range(5000))
    hub = greenlane.get_hub()
    assert len(hub._workers.idle) <= 2  # ran one after another on the same few workers


def test_keyboard_interrupt_in_a_green_thread_reaches_main() -> None:
    def interrupt() -> None:
        raise KeyboardInterrupt

    gt = greenlane.spawn(interrupt)
    with pytest.raises(KeyboardInterrupt):
        greenlane.sleep(1)
    assert gt.dead


def test_system_exit_in_a_green_thread_reaches_main_waiting_on_it() -> None:
    def leave() -> None:
        raise SystemExit(3)

    gt = greenlane.spawn(leave)
    with pytest.raises(SystemExit) as info:
        gt.wait()
    assert info.value.code == 3


def test_sleep_validation() -> None:
    with pytest.raises(ValueError, match="-1"):
        greenlane.sleep(-1)
    with pytest.raises(ValueError, match="nan"):
        greenlane.sleep(float("nan"))
    with pytest.raises(TypeError, match="'1'"):
        greenlane.sleep("1")  # type: ignore[arg-type]


def test_repr_shows_state() -> None:
    ev = greenlane.Event()

    def named() -> None:
        ev.wait()

    gt = greenlane.spawn(named)
    assert "named queued" in repr(gt)
    greenlane.sleep(0)
    assert "named running" in repr(gt)
    ev.send(None)
    gt.wait()
    assert "named finished" in repr(gt)


def test_native_thread_can_wait_for_a_green_thread() -> None:
    import threading

    hub = greenlane.get_hub()
    go = greenlane.Event()
    gt = greenlane.spawn(lambda: (go.wait(), "green result")[1])
    got: list[object] = []
    hub.hold_external()

    def native() -> None:
        try:
            got.append(gt.result(timeout=60))  # a hang guard
        finally:
            hub.release_external()

    thread = threading.Thread(target=native)
    thread.start()
    # The native thread's wait is run by a second green thread of this hub; once
    # it waits too, gt cannot have finished before the native thread asked.
    wait_until(lambda: hub.statistics().green_threads == 2)
    wait_until_parked()
    assert not gt.dead
    go.send()
    assert gt.wait() == "green result"
    wait_until(lambda: got)
    thread.join()
    assert got == ["green result"]


def test_green_thread_of_another_hub_cannot_wait() -> None:
    import threading

    gt = greenlane.spawn(greenlane.sleep, 0.05)
    errors: list[BaseException] = []

    def other() -> None:
        greenlane.sleep(0)  # this thread now has a hub of its own
        try:
            gt.wait()
        except greenlane.CrossThreadError as exc:
            errors.append(exc)

    thread = threading.Thread(target=other)
    thread.start()
    thread.join(10)
    gt.wait()
    assert errors and "another OS thread" in str(errors[0])


def test_kill_a_spawn_n_thread_through_getcurrent() -> None:
    box: list[Any] = []
    cleaned: list[bool] = []

    def victim() -> None:
        box.append(greenlane.getcurrent())
        try:
            greenlane.sleep(10)
        finally:
            cleaned.append(True)

    handle = greenlane.spawn_n(victim)
    greenlane.sleep(0)
    assert box == [handle] and handle and not handle.dead
    greenlane.kill(box[0])
    assert cleaned == [True] and handle.dead and not handle
    greenlane.kill(box[0])  # already dead: nothing happens


def test_kill_the_handle_spawn_n_returns_before_it_starts() -> None:
    ran: list[int] = []
    handle = greenlane.spawn_n(ran.append, 1)
    assert not handle and not handle.dead  # not started yet
    greenlane.kill(handle)
    assert handle.dead
    greenlane.sleep(0)
    assert ran == []


def test_spawn_after_local_is_cancelled_when_the_spawner_ends(virtual_clock: VirtualClock) -> None:
    ran: list[str] = []

    def spawner() -> greenlane.GreenThread[None]:
        return greenlane.greenthread.spawn_after_local(0.01, ran.append, "child")

    child = greenlane.spawn(spawner).wait()
    greenlane.sleep(0.03)  # past the child's moment
    assert ran == [] and child.cancelled()
    kept = greenlane.greenthread.spawn_after_local(0.01, ran.append, "from main")
    kept.wait()
    assert ran == ["from main"]


def test_throw_is_kill_under_greenlets_name() -> None:
    hub = greenlane.get_hub()
    gt = greenlane.spawn(greenlane.sleep, 10)
    greenlane.sleep(0)
    hub.schedule_call_global(0, gt.throw, ValueError("kaboom"))
    greenlane.sleep(0.001)
    assert isinstance(gt.exception(), ValueError)


def test_kill_of_something_not_a_green_thread_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"kill\(\) needs a green thread .*not 42"):
        greenlane.kill(42)  # type: ignore[arg-type]


def test_link_refuses_a_non_callable_at_link_time() -> None:
    gt = greenlane.spawn(int)
    with pytest.raises(TypeError, match=r"link\(\) needs a callable, not 42"):
        gt.link(42)  # type: ignore[arg-type]
    assert gt.wait() == 0
    with pytest.raises(TypeError, match="not 'x'"):
        gt.link("x")  # type: ignore[arg-type]  # already dead: refused all the same
