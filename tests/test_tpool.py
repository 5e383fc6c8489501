"""tpool: native worker threads for blocking calls."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import greenlane
from greenlane import tpool
from greenlane.testing import wait_until, wait_until_parked
from helpers import run_script


@pytest.fixture(autouse=True)
def _pool_of_four() -> Iterator[None]:
    tpool.set_num_threads(4)
    yield
    tpool.killall()
    tpool._pool.size = None


def test_result_and_exception_round_trip() -> None:
    assert tpool.execute(lambda a, b=1: a + b, 2, b=3) == 5
    assert tpool.execute(threading.get_ident) != threading.get_ident()

    def boom() -> None:
        raise ValueError("in a worker")

    with pytest.raises(ValueError, match="in a worker") as info:
        tpool.execute(boom)
    assert any(entry.name == "boom" for entry in info.traceback)


def test_bad_input() -> None:
    with pytest.raises(TypeError, match="42"):
        tpool.execute(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="-1"):
        tpool.set_num_threads(-1)


def test_hub_keeps_serving_while_workers_block() -> None:
    release = threading.Event()
    tpool.set_num_threads(20)
    calls = [greenlane.spawn(tpool.execute, release.wait, 60) for _ in range(200)]
    wait_until_parked(*calls, reason="tpool")  # 20 workers blocked in C, 180 jobs queued
    # Meanwhile the hub serves green threads: 100 switches run to their end.
    assert greenlane.spawn(lambda: sum(greenlane.sleep(0) or 1 for _ in range(100))).wait() == 100
    assert not any(gt.dead for gt in calls)
    release.set()
    assert [gt.wait() for gt in calls] == [True] * 200


def test_killed_and_timed_out_callers_leave_the_pool_working() -> None:
    release = threading.Event()
    caller = greenlane.spawn(tpool.execute, release.wait)
    wait_until_parked(caller, reason="tpool")
    caller.kill()
    assert caller.dead
    with pytest.raises(greenlane.Timeout), greenlane.Timeout(0.01):
        tpool.execute(release.wait)
    release.set()
    assert tpool.execute(lambda: "still works") == "still works"
    hub = greenlane.get_hub()
    wait_until(lambda: not hub._pending_external)  # the late results arrive and are dropped


def test_inline_from_worker_and_when_size_is_zero() -> None:
    inner = tpool.execute(lambda: tpool.execute(threading.get_ident))
    assert inner != threading.get_ident()  # ran inline in the worker: no deadlock
    tpool.set_num_threads(0)
    assert tpool.execute(threading.get_ident) == threading.get_ident()


def test_killall_leaves_no_thread_and_execute_restarts() -> None:
    tpool.execute(lambda: None)
    before = threading.active_count()
    assert len(tpool._pool.workers) == 1  # started as calls need them
    tpool.killall()
    assert tpool._pool.workers == []
    deadline = time.monotonic() + 10
    import _thread

    while _thread._count() > 0 and time.monotonic() < deadline:  # type: ignore[attr-defined]
        time.sleep(0.01)
    assert _thread._count() == 0, before  # type: ignore[attr-defined]
    assert tpool.execute(lambda: "again") == "again"


def test_no_deadlock_error_while_a_job_is_in_flight() -> None:
    hub = greenlane.get_hub()

    def until_the_hub_idles() -> None:  # in the worker: the job ends only once the hub went idle
        deadline = time.monotonic() + 30  # a hang guard
        while not hub.statistics().polling:
            assert time.monotonic() < deadline
            time.sleep(0.0005)

    assert tpool.execute(until_the_hub_idles) is None  # main waits on nothing but the worker


class _Thing:
    def __init__(self) -> None:
        self.items = {"a": 1}
        self.attr = "plain"
        self.entered = False

    def where(self) -> int:
        return threading.get_ident()

    def child(self) -> _Thing:
        return _Thing()

    def __call__(self, x: int) -> int:
        return x * 2

    def __getitem__(self, k: str) -> int:
        return self.items[k]

    def __setitem__(self, k: str, v: int) -> None:
        self.items[k] = v

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[str]:
        return iter(self.items)

    def __enter__(self) -> _Thing:
        self.entered = True
        return self

    def __exit__(self, *a: Any) -> None:
        self.entered = False

    def __repr__(self) -> str:
        return "<Thing>"


def test_proxy_forwards_through_workers_and_wraps() -> None:
    thing = _Thing()
    proxy: Any = tpool.Proxy(thing, autowrap_names=("child",))
    assert proxy.where() != threading.get_ident()
    assert proxy.where(nonblocking=True) == threading.get_ident()
    assert proxy.attr == "plain"
    assert proxy(4) == 8
    proxy["b"] = 2
    assert proxy["b"] == 2 and len(proxy) == 2 and bool(proxy)
    assert sorted(proxy) == ["a", "b"]
    assert isinstance(proxy.child(), tpool.Proxy)
    with proxy as entered:
        assert thing.entered and entered is not None
    assert not thing.entered
    assert repr(proxy) == "<Thing>" and str(proxy) == "<Thing>"
    assert proxy == thing and hash(proxy) == hash(thing)
    by_type: Any = tpool.Proxy(thing, autowrap=(_Thing,))
    assert isinstance(by_type.child(), tpool.Proxy)
    proxy.attr = "set through"
    assert thing.attr == "set through"


def test_fork_with_a_started_pool() -> None:
    proc = run_script(
        """
        import os, threading, greenlane
        from greenlane import tpool
        greenlane.sleep(0)  # this thread is green now: execute uses the pool
        assert tpool.execute(threading.get_ident) != threading.get_ident()
        pid = os.fork()
        if pid == 0:
            ok = tpool.execute(lambda: 21 * 2) == 42
            os._exit(0 if ok else 3)
        _, status = os.waitpid(pid, 0)
        print("pass" if os.waitstatus_to_exitcode(status) == 0 else f"child failed {status}")
        """
    )
    assert proc.stdout.strip() == "pass", proc.stderr


def test_env_var_sets_the_size() -> None:
    # Ten calls held in their workers at once: the pool grows to 3 and no further.
    proc = run_script(
        "import threading, greenlane; from greenlane import tpool\n"
        "gate = threading.Event()\n"
        "calls = [greenlane.spawn(tpool.execute, gate.wait, 10) for _ in range(10)]\n"
        "greenlane.sleep(0)\n"
        "print(len(tpool._pool.workers))\n"
        "gate.set()\n"
        "print(all(c.wait() for c in calls), len(tpool._pool.workers))\n",
        env={"GREENLANE_THREADPOOL_SIZE": "3"},
    )
    assert proc.stdout.split() == ["3", "True", "3"], proc.stderr


def test_workers_start_as_calls_need_them() -> None:
    assert tpool._pool.workers == []  # nothing started before the first call
    for _ in range(5):
        tpool.execute(int)  # one call at a time: one worker is enough
    assert len(tpool._pool.workers) == 1
    gate = threading.Event()
    held = [greenlane.spawn(tpool.execute, gate.wait, 10) for _ in range(3)]
    greenlane.sleep(0)  # each call claims a worker before it parks
    assert len(tpool._pool.workers) == 3  # the first worker was idle again: reused
    gate.set()
    assert all(gt.wait() for gt in held)
    assert len(tpool._pool.workers) == 3


def test_the_size_has_an_upper_bound() -> None:
    with pytest.raises(ValueError, match="at most 1024, not 1025"):
        tpool.set_num_threads(tpool.MAX_THREADS + 1)
    tpool.set_num_threads(tpool.MAX_THREADS)  # allowed; nothing starts until calls arrive
    assert tpool.execute(int) == 0 and len(tpool._pool.workers) == 1
    proc = run_script(
        "from greenlane import tpool; import greenlane; greenlane.sleep(0); tpool.execute(int)",
        env={"GREENLANE_THREADPOOL_SIZE": "100000"},
    )
    assert "GREENLANE_THREADPOOL_SIZE='100000' is above the maximum of 1024" in proc.stderr


def test_deadlock_still_detected_after_the_pool_started() -> None:
    assert tpool.execute(lambda: 1) == 1  # workers now idle, alive
    with pytest.raises(greenlane.DeadlockError):
        greenlane.Event().wait()


def test_proxy_autowraps_call_results_by_name() -> None:
    proxy: Any = tpool.Proxy(lambda x: [x], autowrap_names=("__call__",))
    wrapped = proxy(4)
    assert isinstance(wrapped, tpool.Proxy)
    assert len(wrapped) == 1
    plain: Any = tpool.Proxy(lambda x: [x])
    assert plain(4) == [4]
