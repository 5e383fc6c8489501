"""eventlet's queues: every method and error path, FIFO hand-offs, kills, channels, other OS threads."""

from __future__ import annotations

import math
import queue as stdlib_queue
import threading
from typing import Any

import pytest

import greenlane
from greenlane.queue import Empty, Full, LifoQueue, LightQueue, PriorityQueue, Queue
from greenlane.testing import VirtualClock, wait_until

# Bounds hangs in the tests that use real OS threads; it does not time work.
GENEROUS = 60.0


def _settle() -> None:
    """Let every ready green thread run until it blocks again."""
    for _ in range(3):
        greenlane.sleep(0)


# -- construction and sizes ----------------------------------------------------


def test_empty_and_full_are_the_stdlib_exceptions() -> None:
    assert Empty is stdlib_queue.Empty
    assert Full is stdlib_queue.Full


def test_default_is_unbounded() -> None:
    q: Queue[int] = Queue()
    for i in range(1000):
        q.put_nowait(i)
    assert q.maxsize is None and not q.full() and q.qsize() == 1000


@pytest.mark.parametrize("bad", [-1, -100])
def test_negative_maxsize_is_refused_naming_the_value(bad: int) -> None:
    with pytest.raises(ValueError, match=str(bad)):
        Queue(bad)
    with pytest.raises(ValueError, match=str(bad)):
        LightQueue(bad)
    with pytest.raises(ValueError, match=str(bad)):
        Queue(3).resize(bad)


@pytest.mark.parametrize("bad", [1.5, "3", True])
def test_non_int_maxsize_is_refused(bad: Any) -> None:
    with pytest.raises(TypeError, match="maxsize"):
        Queue(bad)


def test_generic_subscription() -> None:
    q = Queue[int](2)
    q.put(1)
    assert q.get() == 1
    assert LightQueue[str] is not None and PriorityQueue[int] is not None and LifoQueue[int] is not None


# -- put / get / nowait ----------------------------------------------------------


def test_fifo_put_get_and_sizes() -> None:
    q: Queue[str] = Queue(3)
    assert q.empty() and not q.full() and q.qsize() == 0
    q.put("a")
    q.put("b", timeout=1)
    q.put_nowait("c")
    assert q.full() and not q.empty() and q.qsize() == 3
    with pytest.raises(Full):
        q.put_nowait("d")
    with pytest.raises(Full):
        q.put("d", block=False)
    assert [q.get(), q.get_nowait(), q.get(timeout=1)] == ["a", "b", "c"]
    with pytest.raises(Empty):
        q.get_nowait()
    with pytest.raises(Empty):
        q.get(block=False)


@pytest.mark.parametrize("bad", [-1, -0.001, math.nan])
def test_negative_timeout_is_refused(bad: float) -> None:
    q: Queue[int] = Queue(1)
    with pytest.raises(ValueError, match="timeout"):
        q.get(timeout=bad)
    with pytest.raises(ValueError, match="timeout"):
        q.put(1, timeout=bad)
    q.put(1)  # also when there would be no wait, as in the stdlib
    with pytest.raises(ValueError, match="timeout"):
        q.get(timeout=bad)
    with pytest.raises(ValueError, match="timeout"):
        q.join(timeout=bad)


def test_timeout_is_ignored_when_not_blocking() -> None:
    q: Queue[int] = Queue(1)
    with pytest.raises(Empty):
        q.get(False, -1)
    q.put(1, False, -1)
    with pytest.raises(Full):
        q.put(2, False, -1)


def test_timeout_zero_fails_at_once_without_yielding() -> None:
    q: Queue[int] = Queue(1)
    ran: list[int] = []
    gt = greenlane.spawn(ran.append, 1)
    with pytest.raises(Empty):
        q.get(timeout=0)
    q.put(1)
    with pytest.raises(Full):
        q.put(2, timeout=0)
    assert ran == []  # nothing else got to run: no switch happened
    assert q.get(timeout=0) == 1
    gt.wait()


def test_get_waits_for_a_put() -> None:
    q: Queue[str] = Queue()
    gt = greenlane.spawn(q.get)
    greenlane.sleep(0)
    assert q.getting() == 1
    q.put("x")
    assert q.getting() == 0  # handed over at once
    assert gt.wait() == "x"


def test_put_waits_for_room() -> None:
    q: Queue[str] = Queue(1)
    q.put("a")
    gt = greenlane.spawn(q.put, "b")
    greenlane.sleep(0)
    assert q.putting() == 1 and q.qsize() == 1
    assert q.get() == "a"
    assert q.putting() == 0 and q.qsize() == 1  # b moved in at once
    gt.wait()
    assert q.get_nowait() == "b"


def test_get_timeout_raises_empty_at_the_deadline(virtual_clock: VirtualClock) -> None:
    q: Queue[int] = Queue()
    with pytest.raises(Empty):
        q.get(timeout=5)
    assert virtual_clock.now() == 5
    assert q.getting() == 0


def test_put_timeout_raises_full_and_drops_the_item(virtual_clock: VirtualClock) -> None:
    q: Queue[str] = Queue(1)
    q.put("kept")
    with pytest.raises(Full):
        q.put("dropped", timeout=2.5)
    assert virtual_clock.now() == 2.5
    assert q.putting() == 0 and q.qsize() == 1 and q.unfinished_tasks == 1
    assert q.get() == "kept"
    with pytest.raises(Empty):
        q.get_nowait()


def test_a_wait_that_succeeds_leaves_no_timer(virtual_clock: VirtualClock) -> None:
    q: Queue[int] = Queue(1)
    getter = greenlane.spawn(q.get, timeout=10)
    greenlane.sleep(1)
    q.put(7)
    assert getter.wait() == 7
    q.put(8)
    putter = greenlane.spawn(q.put, 9, timeout=10)
    greenlane.sleep(1)
    assert q.get() == 8
    putter.wait()
    assert q.get() == 9
    assert greenlane.get_hub().statistics().timers == 0
    assert virtual_clock.now() == 2


def test_blocking_get_with_nothing_to_deliver_is_a_deadlock_error() -> None:
    q: Queue[int] = Queue()
    with pytest.raises(greenlane.DeadlockError, match="queue get"):
        q.get()
    assert q.getting() == 0


def test_nowait_calls_work_in_the_hub_greenlet() -> None:
    q: Queue[int] = Queue(1)
    hub = greenlane.get_hub()
    hub.call_soon(q.put_nowait, 5)
    greenlane.sleep(0)
    assert q.get_nowait() == 5
    got: list[int] = []
    q.put(6)
    hub.call_soon(lambda: got.append(q.get_nowait()))
    greenlane.sleep(0)
    assert got == [6]


# -- FIFO and no barging ---------------------------------------------------------


def test_getters_are_served_in_the_order_they_waited() -> None:
    q: Queue[int] = Queue()
    getters = [greenlane.spawn(q.get) for _ in range(5)]
    greenlane.sleep(0)
    for i in range(5):
        q.put(i)
    assert [gt.wait() for gt in getters] == [0, 1, 2, 3, 4]


def test_putters_are_admitted_in_the_order_they_waited() -> None:
    q: Queue[str] = Queue(1)
    q.put("x")
    done: list[str] = []

    def putter(item: str) -> None:
        q.put(item)
        done.append(item)

    threads = [greenlane.spawn(putter, c) for c in "abc"]
    greenlane.sleep(0)
    assert q.putting() == 3
    assert [q.get() for _ in range(4)] == ["x", "a", "b", "c"]
    for gt in threads:
        gt.wait()
    assert done == ["a", "b", "c"]


def test_an_item_handed_to_a_waiting_getter_cannot_be_taken_by_another() -> None:
    q: Queue[str] = Queue()
    gt = greenlane.spawn(q.get)
    greenlane.sleep(0)
    q.put("mine")
    with pytest.raises(Empty):  # the main thread cannot barge in
        q.get_nowait()
    assert gt.wait() == "mine"


def test_a_freed_slot_goes_to_the_waiting_putter_not_a_newcomer() -> None:
    q: Queue[str] = Queue(1)
    q.put("first")
    gt = greenlane.spawn(q.put, "waiting")
    greenlane.sleep(0)
    assert q.get() == "first"
    with pytest.raises(Full):  # the slot went to the waiting putter
        q.put_nowait("newcomer")
    gt.wait()
    assert q.get() == "waiting"


# -- kills and timeouts never lose or swallow an item -----------------------------


def test_killed_waiting_getter_takes_nothing() -> None:
    q: Queue[int] = Queue()
    a, b = greenlane.spawn(q.get), greenlane.spawn(q.get)
    greenlane.sleep(0)
    a.kill()
    assert q.getting() == 1
    q.put(1)
    assert b.wait() == 1
    q.put(2)
    assert q.get() == 2


def test_getter_killed_after_being_handed_an_item_passes_it_to_the_next_getter() -> None:
    q: Queue[str] = Queue()
    a, b = greenlane.spawn(q.get), greenlane.spawn(q.get)
    greenlane.sleep(0)
    q.put("item")  # handed to a, which has not run yet
    a.kill()
    assert isinstance(a.exception(), greenlane.GreenletExit)
    assert b.wait() == "item"
    assert q.qsize() == 0


def test_getter_killed_after_being_handed_an_item_puts_it_back_in_front() -> None:
    q: Queue[str] = Queue()
    a = greenlane.spawn(q.get)
    greenlane.sleep(0)
    q.put("first")  # handed to a
    q.put("second")  # nobody else waits: stored
    a.kill()
    assert q.qsize() == 2
    assert [q.get(), q.get()] == ["first", "second"]
    assert q.unfinished_tasks == 2  # counted once each


def test_getter_hit_by_a_timeout_after_being_handed_an_item_passes_it_on() -> None:
    q: Queue[str] = Queue()

    def getter() -> str:
        with greenlane.Timeout(10):
            return q.get()

    gt = greenlane.spawn(getter)
    greenlane.sleep(0)
    q.put("item")
    gt.kill(greenlane.Timeout())  # arrives between the hand-off and the getter running
    with pytest.raises(greenlane.Timeout):
        gt.wait()
    assert q.get_nowait() == "item"


def test_timed_out_getter_never_swallows_a_later_item(virtual_clock: VirtualClock) -> None:
    q: Queue[int] = Queue()
    gt = greenlane.spawn(q.get, timeout=1)
    greenlane.sleep(1)
    q.put(1)  # the getter's timer fired first: the item stays in the queue
    with pytest.raises(Empty):
        gt.wait()
    assert q.get_nowait() == 1


def test_killed_waiting_putter_item_is_never_enqueued() -> None:
    q: Queue[str] = Queue(1)
    q.put("a")
    gt = greenlane.spawn(q.put, "ghost")
    greenlane.sleep(0)
    gt.kill()
    assert q.putting() == 0
    assert q.get() == "a"
    with pytest.raises(Empty):
        q.get_nowait()
    assert q.unfinished_tasks == 1


def test_putter_killed_after_its_item_was_accepted_keeps_it_accepted() -> None:
    q: Queue[str] = Queue(1)
    q.put("a")
    gt = greenlane.spawn(q.put, "accepted")
    greenlane.sleep(0)
    assert q.get() == "a"  # moves "accepted" in and wakes the putter
    gt.kill()
    assert isinstance(gt.exception(), greenlane.GreenletExit)  # the kill is still raised
    assert q.get_nowait() == "accepted"


# -- channels (maxsize=0) ----------------------------------------------------------


def test_channel_put_waits_for_a_getter() -> None:
    q: Queue[str] = Queue(0)  # a channel, NOT unbounded as in the stdlib
    assert q.empty() and q.full()
    gt = greenlane.spawn(q.put, "hand to hand")
    greenlane.sleep(0)
    assert not gt.dead and q.putting() == 1 and q.qsize() == 0
    assert q.get() == "hand to hand"
    gt.wait()
    assert q.unfinished_tasks == 1


def test_channel_get_waits_for_a_putter() -> None:
    q: Queue[int] = Queue(0)
    gt = greenlane.spawn(q.get)
    greenlane.sleep(0)
    q.put(3)  # a getter waits: returns at once
    assert q.qsize() == 0
    assert gt.wait() == 3


def test_channel_nowait_needs_a_partner() -> None:
    q: Queue[int] = Queue(0)
    with pytest.raises(Full):
        q.put_nowait(1)
    with pytest.raises(Empty):
        q.get_nowait()
    putter = greenlane.spawn(q.put, 2)
    greenlane.sleep(0)
    assert q.get_nowait() == 2
    putter.wait()
    getter = greenlane.spawn(q.get)
    greenlane.sleep(0)
    q.put_nowait(4)
    assert getter.wait() == 4


def test_channel_put_timeout(virtual_clock: VirtualClock) -> None:
    q: Queue[int] = Queue(0)
    with pytest.raises(Full):
        q.put(1, timeout=3)
    assert virtual_clock.now() == 3 and q.putting() == 0


def test_channel_item_of_a_killed_getter_is_kept_past_maxsize() -> None:
    q: Queue[str] = Queue(0)
    getter = greenlane.spawn(q.get)
    greenlane.sleep(0)
    putter = greenlane.spawn(q.put, "kept")
    greenlane.sleep(0)  # the putter hands "kept" over; we run before the getter does
    getter.kill()
    putter.wait()
    assert q.qsize() == 1  # accepted already: kept, even past maxsize 0
    with pytest.raises(Full):
        q.put_nowait("no room")
    assert q.get_nowait() == "kept"


def test_channel_putters_wait_in_order() -> None:
    q: Queue[int] = Queue(0)
    putters = [greenlane.spawn(q.put, i) for i in range(3)]
    greenlane.sleep(0)
    assert [q.get() for _ in range(3)] == [0, 1, 2]
    for gt in putters:
        gt.wait()


# -- task tracking -----------------------------------------------------------------


def test_task_done_too_many_times_raises() -> None:
    q: Queue[int] = Queue()
    with pytest.raises(ValueError, match="too many"):
        q.task_done()
    q.put(1)
    q.get()
    q.task_done()
    with pytest.raises(ValueError, match="too many"):
        q.task_done()


def test_join_returns_at_once_without_unfinished_tasks() -> None:
    q: Queue[int] = Queue()
    assert q.join() is True
    assert q.join(timeout=0) is True


def test_join_waits_for_every_task_done() -> None:
    q: Queue[int] = Queue()
    for i in range(3):
        q.put(i)
    assert q.unfinished_tasks == 3
    joiners = [greenlane.spawn(q.join) for _ in range(2)]
    greenlane.sleep(0)
    for _ in range(3):
        q.get()
    q.task_done()
    q.task_done()
    greenlane.sleep(0)
    assert not any(gt.dead for gt in joiners)
    q.task_done()
    assert [gt.wait() for gt in joiners] == [True, True]
    assert q.unfinished_tasks == 0


def test_join_counts_items_handed_straight_to_getters() -> None:
    q: Queue[int] = Queue(0)
    getter = greenlane.spawn(q.get)
    greenlane.sleep(0)
    q.put(1)
    assert q.unfinished_tasks == 1
    getter.wait()
    assert q.join(timeout=0) is False
    q.task_done()
    assert q.join(timeout=0) is True


def test_join_timeout_returns_false(virtual_clock: VirtualClock) -> None:
    q: Queue[int] = Queue()
    q.put(1)
    assert q.join(timeout=0) is False
    assert q.join(timeout=4) is False
    assert virtual_clock.now() == 4
    q.get()
    q.task_done()
    assert q.join(timeout=4) is True
    assert virtual_clock.now() == 4


def test_light_queue_has_no_task_tracking() -> None:
    q: LightQueue[int] = LightQueue()
    assert not hasattr(q, "task_done") and not hasattr(q, "join")
    assert not hasattr(q, "unfinished_tasks")


# -- resize ------------------------------------------------------------------------


def test_growing_admits_waiting_putters_in_order_up_to_the_new_size() -> None:
    q: Queue[int] = Queue(1)
    q.put(0)
    putters = [greenlane.spawn(q.put, i) for i in range(1, 5)]
    greenlane.sleep(0)
    assert q.putting() == 4
    q.resize(3)
    assert q.qsize() == 3 and q.putting() == 2 and q.maxsize == 3
    q.resize(None)
    assert q.qsize() == 5 and q.putting() == 0
    for gt in putters:
        gt.wait()
    assert [q.get() for _ in range(5)] == [0, 1, 2, 3, 4]


def test_shrinking_keeps_items_and_makes_puts_wait() -> None:
    q: Queue[int] = Queue(5)
    for i in range(4):
        q.put(i)
    q.resize(2)
    assert q.qsize() == 4 and q.full()
    with pytest.raises(Full):
        q.put_nowait(9)
    q.get()
    q.get()
    q.get()
    q.put_nowait(9)  # below the new bound again
    assert [q.get(), q.get()] == [3, 9]


def test_resize_channel_to_a_buffer_and_back() -> None:
    q: Queue[int] = Queue(0)
    putters = [greenlane.spawn(q.put, i) for i in range(3)]
    greenlane.sleep(0)
    q.resize(2)
    assert q.qsize() == 2 and q.putting() == 1
    q.resize(0)
    assert [q.get(), q.get(), q.get()] == [0, 1, 2]
    for gt in putters:
        gt.wait()


def test_assigning_maxsize_resizes() -> None:
    q: Queue[int] = Queue(1)
    q.put(0)
    gt = greenlane.spawn(q.put, 1)
    greenlane.sleep(0)
    q.maxsize = 2
    assert q.putting() == 0 and q.qsize() == 2
    gt.wait()
    with pytest.raises(ValueError, match="-2"):
        q.maxsize = -2


def test_resize_with_waiting_getters_changes_nothing_else() -> None:
    q: Queue[int] = Queue(0)
    gt = greenlane.spawn(q.get)
    greenlane.sleep(0)
    q.resize(4)
    assert q.getting() == 1
    q.put(1)
    assert gt.wait() == 1


# -- variants ----------------------------------------------------------------------


def test_priority_queue_hands_out_the_lowest_first() -> None:
    q: PriorityQueue[tuple[int, str]] = PriorityQueue()
    for item in [(3, "c"), (1, "a"), (2, "b")]:
        q.put(item)
    assert [q.get() for _ in range(3)] == [(1, "a"), (2, "b"), (3, "c")]
    assert q.unfinished_tasks == 3


def test_lifo_queue_hands_out_the_newest_first() -> None:
    q: LifoQueue[int] = LifoQueue(3)
    for i in range(3):
        q.put(i)
    gt = greenlane.spawn(q.put, 3)
    greenlane.sleep(0)
    assert q.get() == 2  # frees a slot: 3 moves in on top
    gt.wait()
    assert [q.get(), q.get(), q.get()] == [3, 1, 0]


@pytest.mark.parametrize(("cls", "expected"), [(PriorityQueue, [1, 5, 9]), (LifoQueue, [5, 1, 9])])
def test_variants_put_back_an_item_a_killed_getter_was_handed(
    cls: type[Queue[int]], expected: list[int]
) -> None:
    q = cls()
    getter = greenlane.spawn(q.get)
    greenlane.sleep(0)
    q.put(5)  # handed to the getter
    q.put(9)
    q.put(1)
    getter.kill()
    assert [q.get() for _ in range(3)] == expected


def test_variant_put_failure_counts_no_task() -> None:
    q: PriorityQueue[Any] = PriorityQueue()
    q.put(1)
    with pytest.raises(TypeError):
        q.put("not comparable with 1")
    assert q.unfinished_tasks == 1  # (heapq itself may leave the item in the list, as in the stdlib)


# -- reprs -------------------------------------------------------------------------


def test_reprs_show_state() -> None:
    q: Queue[int] = Queue(10)
    for i in range(3):
        q.put(i)
    assert repr(q) == "<Queue maxsize=10 items=3 getters=0 putters=0 tasks=3>"
    assert repr(LightQueue()) == "<LightQueue maxsize=None items=0 getters=0 putters=0>"
    assert repr(PriorityQueue(0)) == "<PriorityQueue maxsize=0 items=0 getters=0 putters=0 tasks=0>"
    assert repr(LifoQueue()) == "<LifoQueue maxsize=None items=0 getters=0 putters=0 tasks=0>"
    q.resize(3)
    putter = greenlane.spawn(q.put, 3)
    joiner = greenlane.spawn(q.join)
    greenlane.sleep(0)
    assert repr(q) == "<Queue maxsize=3 items=3 getters=0 putters=1 tasks=3 joiners=1>"
    for _ in range(4):
        q.get()
        q.task_done()
    putter.wait()
    assert joiner.wait() is True
    getter = greenlane.spawn(q.get)
    greenlane.sleep(0)
    assert repr(q) == "<Queue maxsize=3 items=0 getters=1 putters=0 tasks=0>"
    q.put(0)
    getter.wait()


# -- other OS threads ----------------------------------------------------------------


def _run_native(target: Any) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def body() -> None:
        try:
            target()
        except BaseException as exc:  # reported to the test below
            errors.append(exc)

    thread = threading.Thread(target=body)
    thread.start()
    return thread, errors


def _wait_native(*threads: threading.Thread) -> None:
    """Wait for native threads while keeping the hub running (they may need it)."""
    wait_until(lambda: not any(t.is_alive() for t in threads), patience=GENEROUS)
    for t in threads:
        t.join()


def test_native_put_to_an_unbounded_queue_reaches_a_green_getter() -> None:
    q: Queue[str] = Queue()
    gt = greenlane.spawn(q.get)
    greenlane.sleep(0)  # the getter parks: the queue belongs to this hub
    hub = greenlane.get_hub()
    hub.hold_external()
    try:
        thread, errors = _run_native(lambda: q.put("from native"))
        assert gt.wait() == "from native"
        _wait_native(thread)
    finally:
        hub.release_external()
    assert errors == []


def test_native_put_before_anyone_uses_the_queue_is_kept() -> None:
    q: Queue[int] = Queue()
    thread, errors = _run_native(lambda: [q.put(i) for i in range(3)])
    thread.join(GENEROUS)
    assert errors == []
    assert [q.get_nowait() for _ in range(3)] == [0, 1, 2]
    assert q.unfinished_tasks == 3


def test_native_calls_that_need_not_wait_leave_an_unowned_queue_to_the_green_side() -> None:
    q: Queue[int] = Queue(2)
    outcomes: list[object] = []

    def native() -> None:
        outcomes.append(q.join(timeout=0))  # no tasks yet
        q.put(1)
        q.put(2, timeout=1)
        for call in (lambda: q.put_nowait(3), lambda: q.put(3, timeout=0)):
            try:
                call()
            except Full:
                outcomes.append("full")
        outcomes.append(q.get_nowait())
        outcomes.append(q.get(timeout=1))
        try:
            q.get(False)
        except Empty:
            outcomes.append("empty")
        q.put_nowait(4)

    thread, errors = _run_native(native)
    thread.join(GENEROUS)
    assert errors == [] and outcomes == [True, "full", "full", 1, 2, "empty"]
    # The green side can still own and use it (the native thread did not claim it).
    gt = greenlane.spawn(q.get)
    assert gt.wait() == 4
    getter = greenlane.spawn(q.get)
    greenlane.sleep(0)
    q.put(5)
    assert getter.wait() == 5
    assert q.unfinished_tasks == 4


def test_native_get_waits_for_a_green_put() -> None:
    q: Queue[str] = Queue()
    q.put("claim")  # the queue now belongs to this hub
    assert q.get() == "claim"
    got: list[str] = []
    hub = greenlane.get_hub()
    hub.hold_external()
    try:
        thread, errors = _run_native(lambda: got.append(q.get(timeout=GENEROUS)))
        wait_until(q.getting)  # the native thread's get runs here, in a green thread
        q.put("for native")
        _wait_native(thread)
    finally:
        hub.release_external()
    assert errors == [] and got == ["for native"]


def test_native_get_timeout_and_nowait_raise_empty() -> None:
    q: Queue[int] = Queue()
    q.put(1)
    q.get()
    hub = greenlane.get_hub()
    hub.hold_external()
    outcomes: list[str] = []

    def native() -> None:
        for call in (q.get_nowait, lambda: q.get(timeout=0.01)):
            try:
                call()
            except Empty:
                outcomes.append("empty")

    try:
        thread, errors = _run_native(native)
        _wait_native(thread)
    finally:
        hub.release_external()
    assert errors == [] and outcomes == ["empty", "empty"]


def test_native_put_to_a_full_bounded_queue_blocks_until_room() -> None:
    q: Queue[str] = Queue(1)
    q.put("first")  # full, and owned by this hub
    done = threading.Event()
    hub = greenlane.get_hub()
    hub.hold_external()
    try:
        thread, errors = _run_native(lambda: (q.put("second", timeout=GENEROUS), done.set()))
        wait_until(q.putting)
        assert not done.is_set()
        assert q.get() == "first"
        _wait_native(thread)
    finally:
        hub.release_external()
    assert errors == [] and done.is_set()
    assert q.get_nowait() == "second"


def test_native_put_nowait_to_a_full_bounded_queue_raises_full() -> None:
    q: Queue[str] = Queue(1)
    q.put("first")
    hub = greenlane.get_hub()
    hub.hold_external()
    try:
        thread, errors = _run_native(lambda: q.put_nowait("second"))
        _wait_native(thread)
    finally:
        hub.release_external()
    assert len(errors) == 1 and isinstance(errors[0], Full)
    assert q.qsize() == 1


def test_native_join_and_task_done() -> None:
    q: Queue[int] = Queue()
    q.put(1)
    joined: list[bool] = []
    hub = greenlane.get_hub()
    hub.hold_external()
    try:
        thread, errors = _run_native(lambda: joined.append(q.join(timeout=GENEROUS)))
        wait_until(lambda: q._joiners)
        q.get()
        helper, helper_errors = _run_native(q.task_done)  # handed to this hub
        _wait_native(thread, helper)
    finally:
        hub.release_external()
    assert errors == helper_errors == [] and joined == [True]


def test_green_threads_of_another_os_thread_cannot_wait_on_it() -> None:
    q: Queue[int] = Queue()
    gt = greenlane.spawn(q.get)
    greenlane.sleep(0)
    errors: list[BaseException] = []

    def other_hub_thread() -> None:
        try:
            greenlane.spawn(q.get).wait()
        except greenlane.CrossThreadError as exc:
            errors.append(exc)

    thread = threading.Thread(target=other_hub_thread)
    thread.start()
    thread.join(GENEROUS)
    assert errors and "share a hub" in str(errors[0])
    q.put(1)
    assert gt.wait() == 1


NATIVE_PRODUCERS = 10
NATIVE_CONSUMERS = 10
NATIVE_ITEMS = 200
GREEN_PRODUCERS = 100
GREEN_CONSUMERS = 100
GREEN_ITEMS = 20


@pytest.mark.parametrize("maxsize", [None, 0, 16])
def test_native_and_green_threads_hammer_one_queue(maxsize: int | None) -> None:
    """20 native threads and 200 green threads share one queue: nothing lost, duplicated or hung."""
    q: Queue[tuple[str, int, int]] = Queue(maxsize)
    received: list[tuple[str, int, int]] = []  # list.append is atomic: safe from any thread

    def green_producer(n: int) -> None:
        for i in range(GREEN_ITEMS):
            q.put(("green", n, i), timeout=GENEROUS)
            if i % 3 == 0:
                greenlane.sleep(0)

    def green_consumer() -> None:
        for _ in range(GREEN_ITEMS):
            received.append(q.get(timeout=GENEROUS))
            q.task_done()

    def native_producer(n: int) -> None:
        for i in range(NATIVE_ITEMS):
            q.put(("native", n, i), timeout=GENEROUS)

    def native_consumer() -> None:
        for _ in range(NATIVE_ITEMS):
            received.append(q.get(timeout=GENEROUS))
            q.task_done()

    hub = greenlane.get_hub()
    green = [greenlane.spawn(green_consumer) for _ in range(GREEN_CONSUMERS // 2)]
    greenlane.sleep(0)  # green getters park: the queue belongs to this hub
    hub.hold_external()
    try:
        natives = [_run_native(lambda n=n: native_producer(n)) for n in range(NATIVE_PRODUCERS)]
        natives += [_run_native(native_consumer) for _ in range(NATIVE_CONSUMERS)]
        for n in range(GREEN_PRODUCERS):
            green.append(greenlane.spawn(green_producer, n))
            if n == GREEN_PRODUCERS // 2:
                green += [greenlane.spawn(green_consumer) for _ in range(GREEN_CONSUMERS // 2)]
        for gt in green:
            gt.wait()
        _wait_native(*(thread for thread, _ in natives))
        assert q.join(timeout=GENEROUS)
    finally:
        hub.release_external()
    assert [errors for _, errors in natives if errors] == []
    expected = {("native", n, i) for n in range(NATIVE_PRODUCERS) for i in range(NATIVE_ITEMS)}
    expected |= {("green", n, i) for n in range(GREEN_PRODUCERS) for i in range(GREEN_ITEMS)}
    assert len(received) == len(expected) and set(received) == expected
    assert q.qsize() == q.getting() == q.putting() == q.unfinished_tasks == 0


def test_native_put_then_green_get_on_an_unowned_queue() -> None:
    import threading as _threading

    from greenlane.queue import Queue as _Queue

    q: _Queue[int] = _Queue(10)
    thread = _threading.Thread(target=q.put, args=(5,))
    thread.start()
    thread.join()
    assert q.get(timeout=1) == 5


def test_channel_put_returns_after_the_getter_ran_with_the_item() -> None:
    from greenlane.queue import Queue as _Queue

    channel: _Queue[int | None] = _Queue(0)
    log: list[object] = []

    def consumer() -> None:
        while (item := channel.get()) is not None:
            log.append(("got", item))

    gt = greenlane.spawn(consumer)
    greenlane.sleep(0)
    channel.put(1)
    log.append("put returned")
    channel.put(None)
    gt.wait()
    assert log == [("got", 1), "put returned"]
