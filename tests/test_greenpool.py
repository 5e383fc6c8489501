"""GreenPool, GreenPile, GreenMap: bounds, FIFO spawners, waitall, resize, imap order, no deadlock."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import greenlane
from greenlane.event import Event
from greenlane.greenpool import GreenMap, GreenPile, GreenPool
from greenlane.greenthread import GreenThread
from greenlane.testing import VirtualClock, virtual_time


class Gauge:
    """Counts how many calls run at once, and the most ever."""

    def __init__(self) -> None:
        self.now = 0
        self.peak = 0

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any) -> Any:
            self.now += 1
            self.peak = max(self.peak, self.now)
            try:
                return fn(*args)
            finally:
                self.now -= 1

        return run


def yielding(i: int, times: int = 3) -> int:
    for _ in range(times):
        greenlane.sleep(0)
    return i


# -- construction and bad input ------------------------------------------------


def test_defaults_and_repr() -> None:
    pool = GreenPool()
    assert pool.size == 1000
    assert repr(pool) == "<GreenPool size=1000 running=0 waiting=0>"
    assert (pool.running(), pool.free(), pool.waiting()) == (0, 1000, 0)


@pytest.mark.parametrize("size", [-1, -100])
def test_negative_size_is_a_value_error_naming_it(size: int) -> None:
    with pytest.raises(ValueError, match=str(size)):
        GreenPool(size)
    with pytest.raises(ValueError, match=str(size)):
        GreenPool(1).resize(size)
    with pytest.raises(ValueError, match=str(size)):
        GreenPile(size)


@pytest.mark.parametrize("size", ["10", 2.5, None, True])
def test_non_int_size_is_a_type_error(size: Any) -> None:
    with pytest.raises(TypeError, match="int"):
        GreenPool(size)


def test_non_callables_are_type_errors_before_taking_a_slot() -> None:
    pool = GreenPool(1)
    with pytest.raises(TypeError, match="callable"):
        pool.spawn(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="callable"):
        pool.spawn_n("nope")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="callable"):
        pool.imap(3, [1])  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="callable"):
        pool.starmap(3, [(1,)])  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="callable"):
        GreenPile(1).spawn(None)  # type: ignore[arg-type]
    assert pool.free() == 1


# -- spawn, bounds, FIFO -----------------------------------------------------------


def test_spawn_returns_a_green_thread_and_passes_arguments_through() -> None:
    pool = GreenPool(2)

    def f(a: int, /, fn: str, *, b: int) -> tuple[int, str, int]:
        return a, fn, b

    gt = pool.spawn(f, 1, "fn-kwarg-passes", b=2)  # the callable is positional-only
    assert isinstance(gt, GreenThread)
    assert gt.wait() == (1, "fn-kwarg-passes", 2)


def test_concurrency_never_exceeds_size() -> None:
    pool = GreenPool(4)
    gauge = Gauge()
    threads = [pool.spawn(gauge.wrap(yielding), i) for i in range(30)]
    assert [t.wait() for t in threads] == list(range(30))
    assert gauge.peak == 4
    pool.waitall()
    assert pool.running() == 0


def test_blocked_spawners_get_slots_in_fifo_order() -> None:
    pool = GreenPool(1)
    gate: Event[None] = Event()
    holder = pool.spawn(gate.wait)
    started: list[int] = []

    def spawner(i: int) -> None:
        pool.spawn(started.append, i).wait()

    spawners = [greenlane.spawn(spawner, i) for i in range(5)]
    greenlane.sleep(0)
    assert pool.waiting() == 5
    assert repr(pool) == "<GreenPool size=1 running=1 waiting=5>"
    assert pool.free() == 0
    late = greenlane.spawn(spawner, 99)  # queues behind the five: no barging
    greenlane.sleep(0)
    gate.send(None)
    holder.wait()
    for s in [*spawners, late]:
        s.wait()
    assert started == [0, 1, 2, 3, 4, 99]
    assert pool.waiting() == 0


def test_running_free_waiting_track_the_pool() -> None:
    pool = GreenPool(2)
    gate: Event[None] = Event()
    a = pool.spawn(gate.wait)
    assert (pool.running(), pool.free(), pool.waiting()) == (1, 1, 0)
    b = pool.spawn(gate.wait)
    assert (pool.running(), pool.free()) == (2, 0)
    gate.send(None)
    a.wait()
    b.wait()
    greenlane.sleep(0)
    assert (pool.running(), pool.free(), pool.waiting()) == (0, 2, 0)


def test_finished_threads_leave_the_pool() -> None:
    pool = GreenPool(10)
    for i in range(100):
        pool.spawn(int, i)
        pool.spawn_n(int, i)
    pool.waitall()
    assert pool.running() == 0
    assert not pool._members


def test_coroutines_running_lets_a_service_kill_them_all() -> None:
    pool = GreenPool(5)
    threads = [pool.spawn(Event().wait) for _ in range(3)]
    snapshot = pool.coroutines_running
    assert snapshot == set(threads)
    for gt in list(snapshot):
        gt.kill()
    assert pool.coroutines_running == set() and pool.running() == 0
    assert snapshot == set(threads)  # a copy, not the live set


def test_cancelled_and_killed_threads_give_their_slot_back() -> None:
    pool = GreenPool(2)
    gate: Event[None] = Event()
    queued = pool.spawn(gate.wait)
    assert queued.cancel()  # before it started
    running = pool.spawn(gate.wait)
    greenlane.sleep(0)
    running.kill()
    assert pool.running() == 0
    assert pool.free() == 2


def test_killed_waiting_spawner_takes_no_slot() -> None:
    pool = GreenPool(1)
    gate: Event[None] = Event()
    holder = pool.spawn(gate.wait)
    waiting = greenlane.spawn(pool.spawn, int)
    greenlane.sleep(0)
    assert pool.waiting() == 1
    waiting.kill()
    assert pool.waiting() == 0
    gate.send(None)
    holder.wait()
    greenlane.sleep(0)
    assert (pool.running(), pool.free()) == (0, 1)


def test_spawner_killed_after_being_handed_a_slot_passes_it_on() -> None:
    pool = GreenPool(1)
    gate: Event[None] = Event()
    holder = pool.spawn(gate.wait)
    ran: list[str] = []
    a = greenlane.spawn(pool.spawn, ran.append, "a")
    b = greenlane.spawn(lambda: pool.spawn(ran.append, "b").wait())
    greenlane.sleep(0)
    # The pool's link hands the slot to a; this later link kills a before it runs.
    holder.link(lambda _: a.kill())
    gate.send(None)
    b.wait()
    assert a.dead
    assert ran == ["b"]
    pool.waitall()
    assert pool.free() == 1


def test_spawn_n_runs_without_a_handle_and_holds_a_slot() -> None:
    pool = GreenPool(1)
    out: list[int] = []
    assert pool.spawn_n(out.append, 1) is None  # type: ignore[func-returns-value]
    assert pool.running() == 1
    pool.waitall()
    assert out == [1]
    assert pool.free() == 1


def test_spawn_n_failure_is_logged_at_once(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> None:
        raise ValueError("spawn_n boom")

    pool = GreenPool(1)
    with caplog.at_level(logging.ERROR, logger="greenlane"):
        pool.spawn_n(broken)
        pool.waitall()
    [record] = [r for r in caplog.records if "broken" in r.getMessage()]
    assert record.exc_info is not None and isinstance(record.exc_info[1], ValueError)
    assert pool.free() == 1


def test_spawn_n_exit_is_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    def leave() -> None:
        greenlane.sleep(0)
        raise greenlane.GreenletExit

    pool = GreenPool(1)
    with caplog.at_level(logging.ERROR, logger="greenlane"):
        pool.spawn_n(leave)
        pool.waitall()
    assert not caplog.records
    assert pool.free() == 1


def test_spawn_context_is_the_spawners() -> None:
    import contextvars

    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    var.set("spawner")
    pool = GreenPool(1)
    assert pool.spawn(var.get).wait() == "spawner"


# -- waitall --------------------------------------------------------------------


def test_waitall_waits_for_every_thread(virtual_clock: VirtualClock) -> None:
    pool = GreenPool(3)
    finished: list[int] = []

    def nap(i: int) -> None:
        greenlane.sleep(i)
        finished.append(i)

    for i in (3, 1, 2, 5, 4):
        pool.spawn_n(nap, i)
    pool.waitall()
    assert sorted(finished) == [1, 2, 3, 4, 5]
    assert virtual_clock.now() == 6  # 1, 2, 3 start at 0; 5 at 1; 4 at 2
    pool.waitall()  # an idle pool: returns at once


def test_waitall_from_many_waiters() -> None:
    pool = GreenPool(2)
    gate: Event[None] = Event()
    pool.spawn(gate.wait)
    waiters = [greenlane.spawn(pool.waitall) for _ in range(3)]
    greenlane.sleep(0)
    assert not any(w.dead for w in waiters)
    gate.send(None)
    for w in waiters:
        w.wait()


def test_waitall_from_inside_the_pool_raises() -> None:
    pool = GreenPool(2)
    gt = pool.spawn(pool.waitall)
    with pytest.raises(RuntimeError, match="wait for itself"):
        gt.wait()


# -- resize -----------------------------------------------------------------------


def test_growing_lets_blocked_spawners_in() -> None:
    pool = GreenPool(1)
    gate: Event[None] = Event()
    pool.spawn(gate.wait)
    spawners = [greenlane.spawn(pool.spawn, gate.wait) for _ in range(3)]
    greenlane.sleep(0)
    assert pool.waiting() == 3
    pool.resize(3)
    assert pool.size == 3
    assert (pool.running(), pool.waiting()) == (3, 1)
    pool.resize(10)
    greenlane.sleep(0)
    assert (pool.running(), pool.waiting(), pool.free()) == (4, 0, 6)
    gate.send(None)
    for s in spawners:
        s.wait().wait()
    pool.waitall()


def test_shrinking_stops_nothing_but_holds_new_spawns() -> None:
    pool = GreenPool(3)
    gate: Event[None] = Event()
    first = [pool.spawn(gate.wait) for _ in range(3)]
    pool.resize(1)
    assert pool.free() == -2
    spawner = greenlane.spawn(pool.spawn, int)
    greenlane.sleep(0)
    assert pool.waiting() == 1
    gate.send(None)
    for gt in first:
        gt.wait()
    assert spawner.wait().wait() == 0
    pool.waitall()
    assert pool.free() == 1


def test_resize_to_zero_blocks_spawns_until_grown() -> None:
    pool = GreenPool(0)
    spawner = greenlane.spawn(pool.spawn, int, 7)
    greenlane.sleep(0)
    assert pool.waiting() == 1
    pool.resize(1)
    assert spawner.wait().wait() == 7


# -- spawning into a full pool from inside it ------------------------------------


def test_spawn_into_full_pool_from_own_thread_runs_inline() -> None:
    pool = GreenPool(1)

    def outer() -> tuple[Any, Any, int]:
        me = greenlane.getcurrent()
        inner = pool.spawn(greenlane.getcurrent)
        assert inner.dead  # already ran, here
        return me, inner.wait(), pool.running()

    me, seen, running = pool.spawn(outer).wait()
    assert seen is me
    assert running == 1


def test_recursive_spawns_in_a_tiny_pool_do_not_deadlock() -> None:
    pool = GreenPool(2)

    def fib(n: int) -> int:
        if n < 2:
            return n
        a = pool.spawn(fib, n - 1)
        b = pool.spawn(fib, n - 2)
        return a.wait() + b.wait()

    assert pool.spawn(fib, 12).wait() == 144
    pool.waitall()


def test_inline_exception_is_kept_in_the_handle() -> None:
    pool = GreenPool(1)

    def boom() -> None:
        raise KeyError("inline")

    def outer() -> str:
        gt = pool.spawn(boom)
        assert gt.dead
        with pytest.raises(KeyError, match="inline"):
            gt.wait()
        assert isinstance(gt.exception(), KeyError)
        return "caller went on"

    assert pool.spawn(outer).wait() == "caller went on"


def test_inline_spawn_n_logs_failures(caplog: pytest.LogCaptureFixture) -> None:
    pool = GreenPool(1)

    def broken_inline() -> None:
        raise ValueError("inline spawn_n")

    with caplog.at_level(logging.ERROR, logger="greenlane"):
        pool.spawn(pool.spawn_n, broken_inline).wait()
    assert any("broken_inline" in r.getMessage() for r in caplog.records)


def test_kill_of_the_caller_during_an_inline_call_kills_the_caller() -> None:
    pool = GreenPool(1)
    after: list[str] = []

    def outer() -> None:
        pool.spawn(Event().wait)  # inline: blocks the caller itself
        after.append("should not run")

    gt = pool.spawn(outer)
    greenlane.sleep(0)
    gt.kill()
    assert gt.dead and not after
    with pytest.raises(greenlane.GreenletExit):
        gt.wait()
    assert pool.free() == 1


def test_timeout_aimed_at_the_caller_is_not_swallowed_by_an_inline_call(
    virtual_clock: VirtualClock,
) -> None:
    pool = GreenPool(1)

    def outer() -> str:
        try:
            with greenlane.Timeout(5):
                pool.spawn(greenlane.sleep, 10)
        except greenlane.Timeout:
            return "timed out"
        return "not timed out"

    assert pool.spawn(outer).wait() == "timed out"
    assert virtual_clock.now() == 5


def test_imap_from_inside_a_full_pool_runs_inline() -> None:
    pool = GreenPool(1)
    assert pool.spawn(lambda: list(pool.imap(lambda x: x * 2, range(5)))).wait() == [0, 2, 4, 6, 8]


# -- imap / starmap -------------------------------------------------------------------


def test_imap_yields_in_input_order_whatever_the_finish_order(virtual_clock: VirtualClock) -> None:
    pool = GreenPool(10)

    def nap(i: int) -> int:
        greenlane.sleep(10 - i)
        return i

    assert list(pool.imap(nap, range(10))) == list(range(10))
    assert virtual_clock.now() == 10  # all ten ran at once


def test_imap_respects_the_size_and_bounds_what_it_reads_ahead() -> None:
    pool = GreenPool(3)
    gauge = Gauge()
    read: list[int] = []

    def source() -> Iterator[int]:
        for i in itertools.count():
            read.append(i)
            yield i

    results = pool.imap(gauge.wrap(yielding), source())
    taken = list(itertools.islice(results, 10))
    assert taken == list(range(10))
    assert gauge.peak == 3
    assert len(read) <= 10 + 3
    pool.waitall()


def test_imap_several_iterables_stop_at_the_shortest_and_none_gives_tuples() -> None:
    pool = GreenPool(4)
    assert list(pool.imap(pow, [2, 3, 4], [5, 2])) == [32, 9]
    assert list(pool.imap(None, "ab", [1, 2])) == [("a", 1), ("b", 2)]
    assert list(pool.imap(int)) == []
    assert list(pool.imap(int, [])) == []


def test_starmap() -> None:
    pool = GreenPool(2)
    assert list(pool.starmap(pow, [(2, 3), (3, 2), (10, 0)])) == [8, 9, 1]
    assert list(pool.starmap(None, iter([(1, 2)]))) == [(1, 2)]


def test_imap_raises_at_the_failing_position_and_can_go_on() -> None:
    pool = GreenPool(4)

    def check(i: int) -> int:
        yielding(i)
        if i == 2:
            raise ValueError(f"bad item {i}")
        return i

    results = pool.imap(check, range(5))
    assert next(results) == 0
    assert next(results) == 1
    with pytest.raises(ValueError, match="bad item 2"):
        next(results)
    assert list(results) == [3, 4]


def test_imap_input_error_is_raised_at_its_position() -> None:
    pool = GreenPool(4)

    def source() -> Iterator[tuple[int]]:
        yield (1,)
        yield (2,)
        raise OSError("input broke")

    results = pool.starmap(lambda x: x * 10, source())
    assert next(results) == 10
    assert next(results) == 20
    with pytest.raises(OSError, match="input broke"):
        next(results)
    with pytest.raises(StopIteration):
        next(results)


def test_imap_starts_work_before_iteration_without_blocking() -> None:
    pool = GreenPool(2)
    started: list[int] = []
    results = pool.imap(started.append, range(5))
    assert "in_flight=2" in repr(results)
    greenlane.sleep(0)
    assert started == [0, 1]  # the free slots were filled at once; the rest waits for iteration
    assert list(results) == [None] * 5
    assert started == [0, 1, 2, 3, 4]


def test_imap_shares_the_pool_with_other_spawners() -> None:
    pool = GreenPool(2)
    gate: Event[None] = Event()
    pool.spawn(gate.wait)
    gauge = Gauge()
    assert list(pool.imap(gauge.wrap(yielding), range(6))) == list(range(6))
    assert gauge.peak == 1  # the other thread held one slot throughout
    gate.send(None)
    pool.waitall()


# -- GreenPile and GreenMap -------------------------------------------------------


def test_pile_yields_in_spawn_order(virtual_clock: VirtualClock) -> None:
    pile: GreenPile[int] = GreenPile(5)

    def nap(i: int) -> int:
        greenlane.sleep(5 - i)
        return i

    for i in range(5):
        gt = pile.spawn(nap, i)
        assert isinstance(gt, GreenThread)
    assert len(pile) == 5
    assert next(pile) == 0
    assert len(pile) == 4
    assert pile.next() == 1
    assert list(pile) == [2, 3, 4]
    assert len(pile) == 0
    with pytest.raises(StopIteration):
        next(pile)


def test_pile_shares_a_given_pool_and_respects_it() -> None:
    pool = GreenPool(2)
    gauge = Gauge()
    a: GreenPile[int] = GreenPile(pool)
    b: GreenPile[int] = GreenPile(pool)
    assert a.pool is pool and b.pool is pool
    for i in range(6):
        a.spawn(gauge.wrap(yielding), i)
        b.spawn(gauge.wrap(yielding), -i)
    assert list(a) == list(range(6))
    assert list(b) == [-i for i in range(6)]
    assert gauge.peak == 2
    assert "GreenPile pending=0" in repr(a)


def test_pile_exception_is_raised_at_its_position() -> None:
    pile: GreenPile[int] = GreenPile(3)
    pile.spawn(int, "1")
    pile.spawn(int, "x")
    pile.spawn(int, "3")
    assert next(pile) == 1
    with pytest.raises(ValueError):
        next(pile)
    assert list(pile) == [3]


def test_pile_consumer_in_another_thread_waits_for_a_blocked_spawn() -> None:
    pile: GreenPile[int] = GreenPile(1)
    gate: Event[int] = Event()
    pile.spawn(gate.wait)
    producer = greenlane.spawn(pile.spawn, int, 2)  # blocks: the pool is full
    greenlane.sleep(0)
    assert len(pile) == 2
    consumer = greenlane.spawn(list, pile)
    greenlane.sleep(0)
    gate.send(1)
    assert consumer.wait() == [1, 2]
    producer.wait()


def test_pile_spawn_failure_is_not_counted() -> None:
    pile: GreenPile[int] = GreenPile(1)
    with pytest.raises(TypeError):
        pile.spawn(5)  # type: ignore[arg-type]
    assert len(pile) == 0
    assert list(pile) == []


def test_green_map_feeds_a_consumer_until_done_spawning() -> None:
    gmap: GreenMap[int] = GreenMap(2)
    spawned: list[int] = []

    def producer() -> None:
        for i in range(6):
            gmap.spawn(yielding, i)
            spawned.append(i)
        gmap.done_spawning()

    consumer = greenlane.spawn(list, gmap)
    greenlane.sleep(0)  # the consumer waits for the producer, not StopIteration
    assert not consumer.dead
    prod = greenlane.spawn(producer)
    greenlane.sleep(0)
    assert len(spawned) <= 2  # spawn waits while pool.size results are untaken
    assert consumer.wait() == list(range(6))
    prod.wait()
    with pytest.raises(RuntimeError, match="done_spawning"):
        gmap.spawn(int)


# -- properties ----------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    size=st.integers(1, 6),
    naps=st.lists(st.integers(0, 4), max_size=25),
)
def test_imap_order_and_bound_hold_for_any_durations(size: int, naps: list[int]) -> None:
    with virtual_time():
        pool = GreenPool(size)
        gauge = Gauge()

        def nap(i: int, d: int) -> int:
            greenlane.sleep(d)
            return i

        assert list(pool.imap(gauge.wrap(nap), range(len(naps)), naps)) == list(range(len(naps)))
        assert gauge.peak <= size
        pool.waitall()
        assert (pool.running(), pool.waiting()) == (0, 0)


def test_a_method_can_be_patched_on_one_pool() -> None:
    # oslo.service's WSGI test: mock.patch.object(server._pool, "waitall") around stop/wait
    pool, other = GreenPool(2), GreenPool(2)
    with mock.patch.object(pool, "waitall") as waitall:
        pool.waitall()
        other.waitall()  # the class's method, untouched
        waitall.assert_called_once_with()
    assert "waitall" not in vars(pool)
    pool.spawn(greenlane.sleep, 0)
    pool.waitall()
    assert pool.running() == 0
