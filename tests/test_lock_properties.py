"""Property test: random acquires (blocking, with a timeout, or trying), holds and kills against a model.

Each green thread sleeps until its request time, asks for the lock, holds it
for a while (``with``-style, so a kill while holding releases it) and leaves.
A controller kills batches of threads at given instants, one after another
within a batch: killing the holder hands the lock to the next waiter, and
killing that waiter in the same batch, before it ever ran, must pass the
hand-off on again. Everything runs on a virtual clock, so a small
discrete-event model predicts every grant exactly: who gets the lock, when,
and in what order (FIFO among those still waiting), who gives up when, and
that the lock ends unlocked with nobody queued. Along the way the threads
check mutual exclusion themselves.

Times are chosen so that no two events whose order matters coincide:
blocking requests are at distinct whole seconds, tries at ``x.75``, timeouts
expire at ``x.25``, batch ``b`` lands at ``x.5 + b/64``, and a try's hold is
``h + 0.125``. A release and a blocking request may share an instant; either
order gives the same grants (the request queues behind any earlier waiter,
or finds the lock free, or is handed it). All of these are binary fractions,
so the clock's sums are exact.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import greenlane
from greenlane import GreenletExit
from greenlane.lock import Lock, RLock
from greenlane.testing import virtual_time

MAX_THREADS = 12
MAX_BATCHES = 8  # batch offsets b/64 stay below 0.25, clear of the x.75 tries


@dataclass(frozen=True)
class Plan:
    mode: str  # "block" (no timeout), "timeout" (acquire(timeout=...)), "try" (acquire(False))
    start: int  # whole seconds
    timeout: float
    hold: float

    @property
    def request_at(self) -> float:
        return self.start + 0.75 if self.mode == "try" else float(self.start)


Batch = tuple[float, list[int]]  # when, and whom to kill in that order


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[Plan], list[Batch]]:
    n = draw(st.integers(1, MAX_THREADS))
    starts = draw(st.lists(st.integers(1, 40), min_size=n, max_size=n, unique=True))
    plans = []
    for start in starts:
        mode = draw(st.sampled_from(["block", "timeout", "try"]))
        hold = draw(st.integers(1, 5)) + (0.125 if mode == "try" else 0.0)
        plans.append(Plan(mode=mode, start=start, timeout=draw(st.integers(0, 8)) + 0.25, hold=hold))
    raw = draw(
        st.lists(
            st.tuples(st.integers(0, 60), st.lists(st.integers(0, n - 1), min_size=1, max_size=4)),
            max_size=MAX_BATCHES,
        )
    )
    batches = sorted((second + 0.5 + b / 64, victims) for b, (second, victims) in enumerate(raw))
    return plans, batches


def model(
    plans: list[Plan], batches: list[Batch]
) -> tuple[list[tuple[int, float]], dict[int, tuple[str, float]]]:
    """The grants (thread, time) in order, and how each thread ended (how, when)."""
    events: list[tuple[float, int, str, Any]] = []
    seq = 0

    def at(time: float, kind: str, what: Any) -> None:
        nonlocal seq
        heapq.heappush(events, (time, seq, kind, what))
        seq += 1

    for i, p in enumerate(plans):
        at(p.request_at, "request", i)
    for when, victims in batches:
        at(when, "kill", victims)
    holder: int | None = None
    queue: list[int] = []
    grants: list[tuple[int, float]] = []
    ends: dict[int, tuple[str, float]] = {}
    unrun: set[int] = set()  # handed the lock during the current kill batch (so not run yet)

    def grant(i: int, now: float) -> None:
        nonlocal holder
        holder = i
        grants.append((i, now))
        at(now + plans[i].hold, "release", i)

    def release(now: float) -> None:
        nonlocal holder
        holder = None
        if queue:
            grant(queue[0], now)
            unrun.add(queue.pop(0))

    while events:
        now, _, kind, what = heapq.heappop(events)
        if kind == "kill":
            unrun.clear()  # only hand-offs made during this batch count
            for i in what:
                if i in ends:
                    continue  # killing a finished thread does nothing
                ends[i] = ("killed", now)
                if i in unrun:  # it never ran: no grant, and the lock goes on
                    grants.remove((i, now))
                if holder == i:
                    release(now)
                elif i in queue:
                    queue.remove(i)
            continue
        i = what
        if i in ends:
            continue  # the thread is gone: its later events are stale
        if kind == "request":
            p = plans[i]
            if holder is None:
                grant(i, now)
            elif p.mode == "try":
                ends[i] = ("refused", now)
            else:
                queue.append(i)
                if p.mode == "timeout":
                    at(now + p.timeout, "timeout", i)
        elif kind == "timeout":
            if i in queue:
                queue.remove(i)
                ends[i] = ("timed out", now)
        elif kind == "release" and holder == i:
            ends[i] = ("done", now)
            release(now)
    return grants, ends


@settings(max_examples=150, deadline=None)
@given(scenarios(), st.sampled_from([Lock, RLock]))
def test_grants_match_the_fifo_hand_off_model(
    scenario: tuple[list[Plan], list[Batch]], lock_type: Any
) -> None:
    plans, batches = scenario
    expected_grants, expected_ends = model(plans, batches)
    with virtual_time() as clock:
        lock = lock_type()
        holding: list[int] = []
        grants: list[tuple[int, float]] = []
        ends: dict[int, tuple[str, float]] = {}

        def worker(i: int, p: Plan) -> None:
            try:
                greenlane.sleep(p.request_at)
                if p.mode == "block":
                    got = lock.acquire()
                elif p.mode == "timeout":
                    got = lock.acquire(timeout=p.timeout)
                else:
                    got = lock.acquire(False)
                if not got:
                    ends[i] = ("refused" if p.mode == "try" else "timed out", clock.now())
                    return
                try:
                    assert not holding, f"thread {i} got the lock while {holding} held it"
                    holding.append(i)
                    grants.append((i, clock.now()))
                    greenlane.sleep(p.hold)
                finally:
                    holding.remove(i)
                    lock.release()
                ends[i] = ("done", clock.now())
            except GreenletExit:
                ends[i] = ("killed", clock.now())
                raise

        threads = [greenlane.spawn(worker, i, p) for i, p in enumerate(plans)]
        hub = greenlane.get_hub()
        for when, victims in batches:
            greenlane.sleep(when - clock.now())
            # One instant: throw into every victim before any of them (or a thread
            # they hand the lock to) runs; kill() would yield between victims.
            for i in victims:
                gt = threads[i]
                if gt.running():
                    assert gt._glet is not None
                    hub.throw(gt._glet, GreenletExit())
                else:
                    gt.kill()
            greenlane.sleep(0)
        for gt in threads:
            try:
                gt.wait()
            except GreenletExit:
                pass
        assert grants == expected_grants
        assert ends == expected_ends
        assert not lock.locked()
        waiters = lock._waiters if isinstance(lock, Lock) else lock._block._waiters
        assert len(waiters) == 0
        assert not holding
