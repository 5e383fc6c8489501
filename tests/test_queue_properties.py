"""Property test: a Queue under random puts, gets, timeouts, kills and yields loses nothing.

A driver runs a random script on the virtual clock: spawn a putter (item ids
rise with each spawn), spawn a getter (with or without a timeout), put or get
without waiting from the driver itself, kill a random earlier thread, yield, or
let virtual time pass so timeouts fire. Then every waiter left is satisfied
(fillers for getters, drains for putters) and the outcome is checked against a
model:

- no item is invented, lost or duplicated: every item whose put returned is
  delivered exactly once; an item whose put timed out never is; an item whose
  putter was killed is delivered at most once (it may have been accepted);
- FIFO: getters are served in the order they arrived, with items in the order
  their puts were called (putters never overtake one another), except items a
  killed getter had been handed, which go back to the front
  (``Queue._pass_on``; recorded here);
- no waiter is left behind and the task count equals the deliveries.
"""

from __future__ import annotations

from itertools import count
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import greenlane
from greenlane.queue import Empty, Full, Queue
from greenlane.testing import virtual_time

TIMEOUT = 1.0  # virtual seconds; the "sleep" op waits 0.5 so timeouts land between ops

ops = st.lists(
    st.one_of(
        st.sampled_from(["put", "put_timeout", "get", "get_timeout", "put_nowait", "get_nowait"]),
        st.sampled_from(["sleep0", "sleep"]),
        st.tuples(st.just("kill"), st.integers(min_value=0, max_value=1000)),
    ),
    max_size=40,
)


class RecordingQueue(Queue[Any]):
    """A Queue that notes each item a killed getter handed back."""

    def __init__(self, maxsize: int | None) -> None:
        super().__init__(maxsize)
        self.abandoned: list[Any] = []

    def _pass_on(self, item: Any) -> None:
        self.abandoned.append(item)
        super()._pass_on(item)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([None, 0, 1, 2, 3]), ops)
def test_queue_matches_the_model_under_random_kills_and_timeouts(
    maxsize: int | None, script: list[Any]
) -> None:
    with virtual_time():
        q = RecordingQueue(maxsize)
        ids = count()
        arrivals = count()  # getter arrival order
        put_calls = count()
        put_rank: dict[int, int] = {}  # item -> the order its put was called in
        deliveries: list[tuple[int, Any]] = []  # (arrival, item) of each get that returned
        put_ok: set[int] = set()
        put_refused: set[int] = set()
        put_started: set[int] = set()
        threads: list[greenlane.GreenThread[None]] = []

        def putter(item: int, timeout: float | None) -> None:
            put_started.add(item)
            put_rank[item] = next(put_calls)
            try:
                q.put(item, timeout=timeout)
            except Full:
                put_refused.add(item)
                return
            put_ok.add(item)

        def getter(timeout: float | None) -> None:
            arrival = next(arrivals)
            try:
                item = q.get(timeout=timeout)
            except Empty:
                return
            deliveries.append((arrival, item))

        for op in script:
            if op in ("put", "put_timeout"):
                threads.append(greenlane.spawn(putter, next(ids), TIMEOUT if op == "put_timeout" else None))
            elif op in ("get", "get_timeout"):
                threads.append(greenlane.spawn(getter, TIMEOUT if op == "get_timeout" else None))
            elif op == "put_nowait":
                item = next(ids)
                put_started.add(item)
                put_rank[item] = next(put_calls)
                try:
                    q.put_nowait(item)
                    put_ok.add(item)
                except Full:
                    put_refused.add(item)
            elif op == "get_nowait":
                arrival = next(arrivals)
                try:
                    deliveries.append((arrival, q.get_nowait()))
                except Empty:
                    pass
            elif op == "sleep0":
                greenlane.sleep(0)
            elif op == "sleep":
                greenlane.sleep(TIMEOUT / 2)
            elif threads:
                threads[op[1] % len(threads)].kill()

        # Satisfy every waiter left: fillers for getters, then drain the rest.
        greenlane.sleep(0)
        fillers = 0
        while q.getting():
            q.put(("filler", fillers))
            fillers += 1
        while True:
            arrival = next(arrivals)
            try:
                deliveries.append((arrival, q.get_nowait()))
            except Empty:
                break
        for gt in threads:
            try:
                gt.wait()
            except greenlane.GreenletExit:
                pass

        assert q.qsize() == q.getting() == q.putting() == 0

        items = [item for _, item in deliveries]
        real = [item for item in items if isinstance(item, int)]
        # Nothing invented or duplicated; nothing accepted lost; nothing refused delivered.
        assert len(set(real)) == len(real)
        assert set(real) <= put_started
        assert put_ok <= set(real)
        assert not put_refused & set(real)
        assert sorted(item for item in items if not isinstance(item, int)) == [
            ("filler", i) for i in range(fillers)
        ]
        assert q.unfinished_tasks == len(items)
        # FIFO: in getter-arrival order, items come in put order, but for those
        # handed back by killed getters.
        in_order = [
            put_rank[item]
            for _, item in sorted(deliveries, key=lambda d: d[0])
            if isinstance(item, int) and item not in q.abandoned
        ]
        assert in_order == sorted(in_order)
