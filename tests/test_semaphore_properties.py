"""Property test: a Semaphore under random acquires, timeouts, kills and releases keeps its count.

Model: units are conserved (free + held == initial + releases - consumed), at
most ``value`` holders at once, grants in FIFO order of waiting, and every
waiter still parked at the end is woken by the final releases.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import greenlane
from greenlane.semaphore import Semaphore
from greenlane.testing import virtual_time

ops = st.lists(
    st.one_of(
        st.tuples(st.just("acquire"), st.one_of(st.none(), st.integers(0, 3))),
        st.tuples(st.just("release"), st.none()),
        st.tuples(st.just("kill"), st.integers(0, 20)),
        st.tuples(st.just("sleep"), st.integers(0, 2)),
    ),
    max_size=40,
)


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 3), ops)
def test_units_are_conserved_and_grants_fifo(initial: int, plan: list[tuple[str, int | None]]) -> None:
    with virtual_time():
        sem = Semaphore(initial)
        holders: set[int] = set()
        granted: list[int] = []
        threads: list[greenlane.GreenThread[bool]] = []
        released = 0

        def taker(i: int, timeout: float | None) -> bool:
            got = sem.acquire(timeout=timeout)
            if got:
                holders.add(i)
                granted.append(i)
            return got

        for op, arg in plan:
            if op == "acquire":
                threads.append(greenlane.spawn(taker, len(threads), arg))
                greenlane.sleep(0)
            elif op == "release":
                sem.release()
                released += 1
                greenlane.sleep(0)
            elif op == "kill" and threads:
                threads[arg % len(threads)].kill()
            else:
                greenlane.sleep(arg or 0)
        # Wake everyone still waiting, then account for every unit.
        waiting = len(sem._waiters)
        for _ in range(waiting):
            sem.release()
            released += 1
        for gt in threads:
            if not gt.dead:
                gt.wait()
        assert len(sem._waiters) == 0
        assert sem.counter == initial + released - len(granted)
        assert sem.counter >= 0
        # FIFO with no barging: a thread only ever gets a unit when every thread
        # spawned before it has got one or given up, so grants come in spawn order.
        assert granted == sorted(granted)
        assert holders == set(granted)
