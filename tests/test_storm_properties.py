"""Storms: kills and timeouts thrown at every primitive at once, checked by conservation.

Each example starts a handful of green threads that use one primitive (an
Event, a Semaphore, a Lock, a Queue or a channel, a GreenPool, a Condition)
at chosen instants, each under one of three limits: none, the call's own
``timeout=``, or a ``Timeout`` around it. A controller kills chosen threads at
chosen instants. Instants are multiples of 1/4 on the virtual clock, so kills,
timeouts and hand-offs often coincide: exactly the races where an item could be
lost, handed out twice, or reported as failed although it was delivered.

No model predicts who gets what; instead every run must conserve:

- nothing lost: every item a put *returned* for is received exactly once or
  still in the queue; every unit taken is given back;
- nothing duplicated: no item is received twice, no spawned function runs
  twice, no item a put *raised* for (timeout or ``Full``) is ever received;
- counters restored: at the end the semaphore's count, the lock, the pool's
  free slots, the queue's waiters and the hub are as they started.

Hypothesis runs derandomized (the same examples every run), and small:
together these run in a few seconds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import greenlane
from greenlane import GreenletExit
from greenlane.event import Event
from greenlane.greenpool import GreenPool
from greenlane.lock import Condition, Lock
from greenlane.queue import Empty, Full, Queue
from greenlane.semaphore import Semaphore
from greenlane.testing import assert_hub_empty, virtual_time
from greenlane.timeout import Timeout

QUARTERS = st.integers(0, 16).map(lambda n: n / 4)  # 0 .. 4 s in quarter seconds
LIMITS = st.sampled_from(["none", "param", "Timeout"])
# Zero often: a Timeout(0) expires in the very pass its thread hands something over.
WAITS = st.sampled_from([0.0, 0.0, 0.25, 0.5, 1.0, 2.0])
STORM = settings(
    max_examples=50, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


@dataclass(frozen=True)
class Op:
    """One green thread's part: start at ``at``, wait at most ``wait`` (by ``limit``), hold ``hold``."""

    at: float
    limit: str
    wait: float
    hold: float


ops = st.lists(st.builds(Op, QUARTERS, LIMITS, WAITS, QUARTERS), min_size=1, max_size=8)
kills = st.lists(st.tuples(QUARTERS, st.integers(0, 7)), max_size=4)


class Outcome:
    """What each thread saw: returned, timed out (its own limit), or killed."""

    def __init__(self) -> None:
        self.results: dict[int, str] = {}

    def run(self, i: int, op: Op, call: Callable[[float | None], object]) -> None:
        """Sleep until ``op.at`` and do ``call`` under ``op``'s limit; record how it ended."""
        greenlane.sleep(op.at)
        try:
            if op.limit == "Timeout":
                with Timeout(op.wait):
                    call(None)
            else:
                call(op.wait if op.limit == "param" else None)
        except Timeout:
            self.results[i] = "timed out"
        except (Empty, Full):
            self.results[i] = "timed out"
        except GreenletExit:
            self.results[i] = "killed"
            raise
        else:
            self.results[i] = "returned"


def _storm(threads: list[Callable[[], object]], kill_plan: list[tuple[float, int]], until: float) -> None:
    """Run ``threads``, kill by plan, then kill whatever is left at ``until``; wait for all."""
    gts = [greenlane.spawn(fn) for fn in threads]
    for at, index in sorted(kill_plan):
        if index < len(gts):
            greenlane.sleep(max(0.0, at - greenlane.get_hub().clock()))
            gts[index].kill()
    greenlane.sleep(max(0.0, until - greenlane.get_hub().clock()))
    for gt in gts:
        gt.kill()
    for gt in gts:
        try:
            gt.wait()
        except GreenletExit:
            pass


@STORM
@given(st.sampled_from([0, 1, 2, None]), ops, ops, kills)
# The channel race the storms of issue 15 found (581 times): a getter waits, a put with
# Timeout(0) hands it the item, and the Timeout expires in the put's yield after.
@example(0, [Op(0.25, "Timeout", 0.0, 0.0)], [Op(0.0, "none", 0.0, 0.0)], [])
@example(0, [Op(0.0, "Timeout", 0.0, 0.0)] * 3, [Op(0.0, "Timeout", 1.0, 0.0)] * 2, [(0.0, 3)])
def test_queue_storm(
    maxsize: int | None, puts: list[Op], gets: list[Op], kill_plan: list[tuple[float, int]]
) -> None:
    with virtual_time():
        q: Queue[int] = Queue(maxsize)
        seen = Outcome()
        received: list[int] = []

        def putter(i: int, op: Op) -> None:
            seen.run(i, op, lambda t: q.put(i, timeout=t))

        def getter(i: int, op: Op) -> None:
            seen.run(100 + i, op, lambda t: received.append(q.get(timeout=t)))

        threads: list[Callable[[], object]] = [lambda i=i, op=op: putter(i, op) for i, op in enumerate(puts)]
        threads += [lambda i=i, op=op: getter(i, op) for i, op in enumerate(gets)]
        _storm(threads, kill_plan, until=20)
        left = list(q.queue)
        assert len(set(received)) == len(received), f"an item was received twice: {received}"
        everything = Counter(received + left)
        assert max(everything.values(), default=1) == 1, f"duplicated: {everything}"
        for i in range(len(puts)):
            outcome = seen.results.get(i)
            if outcome == "returned":
                assert everything[i] == 1, f"put {i} returned but item lost ({received}, left {left})"
            elif outcome == "timed out":
                assert everything[i] == 0, f"put {i} timed out yet was delivered"
            # a killed put: accepted or not, never twice (checked above)
        assert len(received) == sum(1 for k, v in seen.results.items() if k >= 100 and v == "returned")
        assert q.getting() == 0 and q.putting() == 0
        assert q.unfinished_tasks == len(received) + len(left)
        assert_hub_empty()


@STORM
@given(st.integers(0, 3), ops, kills)
def test_semaphore_storm(value: int, plan: list[Op], kill_plan: list[tuple[float, int]]) -> None:
    with virtual_time():
        sem = Semaphore(value)
        seen = Outcome()
        holding = [0]
        peak = [0]

        def use(t: float | None, hold: float) -> None:
            if not sem.acquire(timeout=t):
                raise Timeout  # acquire's own timeout: count it like the others
            try:
                holding[0] += 1
                peak[0] = max(peak[0], holding[0])
                greenlane.sleep(hold)
            finally:
                holding[0] -= 1
                sem.release()

        threads: list[Callable[[], object]] = [
            lambda i=i, op=op: seen.run(i, op, lambda t, op=op: use(t, op.hold)) for i, op in enumerate(plan)
        ]
        _storm(threads, kill_plan, until=30)
        assert sem.counter == value and len(sem._waiters) == 0
        assert holding[0] == 0 and peak[0] <= value
        assert_hub_empty()


@STORM
@given(ops, kills)
def test_lock_storm(plan: list[Op], kill_plan: list[tuple[float, int]]) -> None:
    with virtual_time():
        lock = Lock()
        seen = Outcome()
        inside = [0]

        def use(t: float | None, hold: float) -> None:
            if not lock.acquire(timeout=-1 if t is None else t):
                raise Timeout
            try:
                inside[0] += 1
                assert inside[0] == 1, "two threads inside the lock"
                greenlane.sleep(hold)
            finally:
                inside[0] -= 1
                lock.release()

        threads: list[Callable[[], object]] = [
            lambda i=i, op=op: seen.run(i, op, lambda t, op=op: use(t, op.hold)) for i, op in enumerate(plan)
        ]
        _storm(threads, kill_plan, until=30)
        assert not lock.locked() and len(lock._waiters) == 0
        assert_hub_empty()


@STORM
@given(ops, QUARTERS, kills)
def test_event_storm(plan: list[Op], send_at: float, kill_plan: list[tuple[float, int]]) -> None:
    with virtual_time():
        ev: Event[str] = Event()
        seen = Outcome()
        got: dict[int, object] = {}

        def waiter(i: int, op: Op) -> None:
            def wait(t: float | None) -> None:
                got[i] = ev.wait(t)

            seen.run(i, op, wait)

        def sender() -> None:
            greenlane.sleep(send_at)
            ev.send("sent")

        threads: list[Callable[[], object]] = [lambda i=i, op=op: waiter(i, op) for i, op in enumerate(plan)]
        threads.append(sender)
        _storm(threads, [k for k in kill_plan if k[1] < len(plan)], until=20)
        for i, value in got.items():
            assert value in ("sent", None)
            if seen.results.get(i) == "returned" and plan[i].limit == "none":
                assert value == "sent"  # waited without a limit: woken by the send
        assert len(ev._waiters) == 0
        assert_hub_empty()


@STORM
@given(st.integers(1, 3), ops, kills)
def test_greenpool_storm(size: int, plan: list[Op], kill_plan: list[tuple[float, int]]) -> None:
    with virtual_time():
        pool = GreenPool(size)
        seen = Outcome()
        ran: Counter[int] = Counter()
        spawned: dict[int, Any] = {}

        def job(i: int, hold: float) -> None:
            ran[i] += 1
            greenlane.sleep(hold)

        def spawner(i: int, op: Op) -> None:
            def spawn(t: float | None) -> None:
                spawned[i] = pool.spawn(job, i, op.hold)  # waits for a free slot

            seen.run(i, op, spawn)

        threads: list[Callable[[], object]] = [lambda i=i, op=op: spawner(i, op) for i, op in enumerate(plan)]
        _storm(threads, kill_plan, until=30)
        pool.waitall()
        assert max(ran.values(), default=1) == 1, f"a job ran twice: {ran}"
        for i in range(len(plan)):
            outcome = seen.results.get(i)
            if outcome == "returned":
                assert i in spawned and spawned[i].dead
            elif outcome == "timed out":
                assert ran[i] == 0 and i not in spawned, f"spawn {i} timed out, yet its job ran"
        assert pool.free() == size and pool.running() == 0 and pool.waiting() == 0
        assert_hub_empty()


@STORM
@given(ops, st.lists(st.tuples(QUARTERS, st.integers(1, 3)), max_size=4), kills)
def test_condition_storm(
    plan: list[Op], notifies: list[tuple[float, int]], kill_plan: list[tuple[float, int]]
) -> None:
    with virtual_time():
        cond = Condition(Lock())
        seen = Outcome()
        notified = [0]

        def waiter(i: int, op: Op) -> None:
            def wait(t: float | None) -> None:
                with cond:
                    if cond.wait(t):
                        notified[0] += 1

            seen.run(i, op, wait)

        def notifier() -> None:
            for at, n in sorted(notifies):
                greenlane.sleep(max(0.0, at - greenlane.get_hub().clock()))
                with cond:
                    cond.notify(n)

        threads: list[Callable[[], object]] = [lambda i=i, op=op: waiter(i, op) for i, op in enumerate(plan)]
        threads.append(notifier)
        _storm(threads, [k for k in kill_plan if k[1] < len(plan)], until=20)
        assert notified[0] <= sum(n for _, n in notifies)
        assert not cond._lock.locked() and len(cond._waiters) == 0  # type: ignore[attr-defined]
        assert_hub_empty()
