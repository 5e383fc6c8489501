"""Every call that takes seconds checks them in one place (``greenlane._core._timeouts``).

A NaN deadline used to reach the hub's timer heap, where it breaks the heap's
order: no ``sleep`` or ``Timeout`` of the process fired again and the hub
spun. Each call here is run in its own green thread so that, when the check is
missing, the test fails (the thread parks instead of raising) rather than
hangs; afterwards the hub must still fire an ordinary timer.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from fractions import Fraction
from typing import Any

import pytest

import greenlane
from greenlane import futures, hubs
from greenlane._core import check_timeout
from greenlane.event import Event
from greenlane.green import queue as green_queue
from greenlane.green import select as green_select
from greenlane.green import socket as green_socket
from greenlane.green import subprocess as green_subprocess
from greenlane.green import threading as green_threading
from greenlane.greenthread import GreenThread
from greenlane.lock import Condition, Lock, RLock
from greenlane.periodic_task import periodic_task
from greenlane.queue import LightQueue, PriorityQueue, Queue
from greenlane.semaphore import BoundedSemaphore, CappedSemaphore, Semaphore
from greenlane.threadgroup import ThreadGroup
from greenlane.timeout import Timeout, with_timeout

NAN = float("nan")


def _never() -> None:
    Event().wait()


_STARTED: list[GreenThread[Any]] = []  # killed by the run_green fixture


def _running() -> GreenThread[None]:
    gt = greenlane.spawn(_never)
    _STARTED.append(gt)
    greenlane.sleep(0)
    return gt


def _done() -> GreenThread[int]:
    gt = greenlane.spawn(int)
    gt.wait()
    return gt


def _sent() -> Event[int]:
    e: Event[int] = Event()
    e.send(1)
    return e


def _full() -> Queue[int]:
    q: Queue[int] = Queue(1)
    q.put(0)
    return q


def _held(lock: Any) -> Any:
    lock.acquire()
    return lock


def _condition_wait(v: Any) -> None:
    cond = Condition()
    with cond:
        cond.wait(v)


def _condition_wait_for(v: Any) -> None:
    cond = Condition()
    with cond:
        cond.wait_for(lambda: False, v)


def _pipe_trampoline(v: Any) -> None:
    r, w = os.pipe()
    try:
        hubs.trampoline(r, read=True, timeout=v)
    finally:
        os.close(r)
        os.close(w)


def _green_select(v: Any) -> None:
    r, w = os.pipe()
    try:
        green_select.select([r], [], [], v)
    finally:
        os.close(r)
        os.close(w)


def _green_poll(v: Any) -> None:
    r, w = os.pipe()
    try:
        p = green_select.poll()
        p.register(r, green_select.POLLIN)
        p.poll(v)
    finally:
        os.close(r)
        os.close(w)


def _green_epoll(v: Any) -> None:
    r, w = os.pipe()
    ep = green_select.epoll()
    try:
        ep.register(r, green_select.EPOLLIN)
        ep.poll(v)
    finally:
        ep.close()
        os.close(r)
        os.close(w)


def _future_result(v: Any) -> None:
    with futures.GreenThreadPoolExecutor() as ex:
        f = ex.submit(_never)
        try:
            f.result(v)
        finally:
            f.cancel()
            ex.shutdown(wait=False, cancel_futures=True)


# (name, call with the bad value): every public call that takes seconds.
CALLS: list[tuple[str, Callable[[Any], object]]] = [
    ("sleep", greenlane.sleep),
    ("spawn_after", lambda v: greenlane.spawn_after(v, int)),
    ("spawn_after_local", lambda v: greenlane.greenthread.spawn_after_local(v, int)),
    ("Timeout", Timeout),
    ("with_timeout", lambda v: with_timeout(v, int)),
    ("Event.wait", lambda v: Event().wait(v)),
    ("Event.wait (already sent)", lambda v: _sent().wait(v)),
    ("GreenThread.result", lambda v: _running().result(timeout=v)),
    ("GreenThread.exception", lambda v: _running().exception(timeout=v)),
    ("GreenThread.result (done)", lambda v: _done().result(timeout=v)),
    ("Semaphore.acquire", lambda v: _held(Semaphore(1)).acquire(timeout=v)),
    ("BoundedSemaphore.acquire", lambda v: _held(BoundedSemaphore(1)).acquire(timeout=v)),
    ("CappedSemaphore.acquire", lambda v: CappedSemaphore(0, 1).acquire(timeout=v)),
    ("CappedSemaphore.release", lambda v: CappedSemaphore(1, 1).release(timeout=v)),
    ("Lock.acquire", lambda v: _held(Lock()).acquire(timeout=v)),
    ("RLock.acquire", lambda v: RLock().acquire(timeout=v)),
    ("Condition.wait", _condition_wait),
    ("Condition.wait_for", _condition_wait_for),
    ("Queue.get", lambda v: Queue().get(timeout=v)),
    ("Queue.put", lambda v: _full().put(1, timeout=v)),
    ("Queue.join", lambda v: _full().join(timeout=v)),
    ("LightQueue.get", lambda v: LightQueue(0).get(timeout=v)),
    ("PriorityQueue.get", lambda v: PriorityQueue().get(timeout=v)),
    ("trampoline", _pipe_trampoline),
    ("hub.call_later", lambda v: hubs.get_hub().call_later(v, int)),
    ("hub.schedule_call_global", lambda v: hubs.get_hub().schedule_call_global(v, int)),
    ("hub.park", lambda v: hubs.get_hub().park("test", v)),
    ("futures.wait", lambda v: futures.wait([_running()], timeout=v)),
    ("futures.as_completed", lambda v: list(futures.as_completed([_running()], timeout=v))),
    ("GreenFuture.result", _future_result),
    ("green select.select", _green_select),
    ("green poll.poll", _green_poll),
    ("green epoll.poll", _green_epoll),
    ("green SimpleQueue.get", lambda v: green_queue.SimpleQueue().get(timeout=v)),
    ("green threading.Lock.acquire", lambda v: _held(green_threading.Lock()).acquire(timeout=v)),
    ("green socket.settimeout", lambda v: green_socket.socket().settimeout(v)),
    ("ThreadGroup.cancel", lambda v: ThreadGroup().cancel(timeout=v)),
    ("periodic_task spacing", lambda v: periodic_task(spacing=v)),
]
# Not here: the stdlib's pure-Python classes that patching makes green (``queue.Queue``,
# ``threading.Event``/``Condition``) keep the stdlib's own rules. Their waits reach
# greenlane's lock only through ``acquire(False)`` for a timeout that is not > 0, so NaN
# never reaches the hub; CPython's ``queue.Queue().get(timeout=nan)`` busy-loops, there too.


@pytest.fixture
def run_green() -> Iterator[Callable[[Callable[[], object]], BaseException | None]]:
    """Run a call in its own green thread; return what it raised (None: it returned)."""
    threads: list[GreenThread[Any]] = []

    def run(call: Callable[[], object]) -> BaseException | None:
        gt = greenlane.spawn(call)
        threads.append(gt)
        for _ in range(3):
            greenlane.sleep(0)
        assert gt.dead, "the call parked instead of refusing its argument"
        return gt.exception()

    yield run
    for gt in threads + _STARTED:
        gt.kill()
    _STARTED.clear()
    # Whatever happened, the hub's timers still fire in order.
    fired: list[int] = []
    hub = hubs.get_hub()
    timers = {2: hub.call_later(0.002, fired.append, 2), 1: hub.call_later(0.001, fired.append, 1)}
    greenlane.sleep(0.005)
    # Deadline order, read from the timers themselves (a preempted test may set them further apart).
    want = sorted(timers, key=lambda n: timers[n].when)
    assert fired == want, f"timers fired {fired} (want {want}); hub {hub!r}"


@pytest.mark.parametrize(("name", "call"), CALLS, ids=[name for name, _ in CALLS])
def test_nan_is_refused(name: str, call: Callable[[Any], object], run_green: Any) -> None:
    exc = run_green(lambda: call(NAN))
    assert isinstance(exc, ValueError), f"{name}(nan) gave {exc!r}"
    assert "must be a number of seconds, not nan" in str(exc)


@pytest.mark.parametrize(("name", "call"), CALLS, ids=[name for name, _ in CALLS])
def test_text_is_refused_by_name(name: str, call: Callable[[Any], object], run_green: Any) -> None:
    exc = run_green(lambda: call("1"))
    assert isinstance(exc, TypeError), f"{name}('1') gave {exc!r}"
    assert "must be a number of seconds, not '1'" in str(exc)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: Event().wait("1"), "Event.wait() timeout"),
        (lambda: Semaphore(0).acquire(timeout="1"), "acquire() timeout"),
        (lambda: Queue().get(timeout="1"), "Queue.get() timeout"),
        (lambda: greenlane.spawn_after("1", int), "spawn_after() seconds"),  # type: ignore[arg-type]
        (lambda: greenlane.sleep("1"), "sleep() seconds"),  # type: ignore[arg-type]
        (lambda: futures.wait([], timeout="1"), "wait() timeout"),  # type: ignore[arg-type]
    ],
)
def test_the_message_names_the_argument(call: Callable[[], object], name: str) -> None:
    with pytest.raises(TypeError) as info:
        call()
    assert str(info.value) == f"{name} must be a number of seconds, not '1'"


def test_popen_wait_and_communicate_check_their_timeout() -> None:
    proc = green_subprocess.Popen([sys.executable, "-c", "pass"], stdout=green_subprocess.PIPE)
    try:
        for bad, error in ((NAN, ValueError), ("1", TypeError)):
            with pytest.raises(error, match=r"Popen.wait\(\) timeout must be a number of seconds"):
                proc.wait(bad)
            with pytest.raises(error, match=r"Popen.communicate\(\) timeout must be a number"):
                proc.communicate(timeout=bad)
    finally:
        proc.communicate()


def test_negative_is_refused_only_where_it_has_no_meaning() -> None:
    for call in (
        lambda: greenlane.sleep(-1),
        lambda: greenlane.spawn_after(-1, int),
        lambda: Queue().get(timeout=-1),
        lambda: Semaphore(0).acquire(timeout=-2),
        lambda: green_select.select([], [], [], -1),
    ):
        with pytest.raises(ValueError, match="non-negative"):
            call()
    # Elsewhere a negative timeout means "already expired", as in eventlet and threading.
    assert Event().wait(-1) is None
    with pytest.raises(Timeout), Timeout(-1):
        greenlane.sleep(1)


def test_the_check_itself() -> None:
    assert check_timeout(1.5) == 1.5
    assert check_timeout(2) == 2
    assert check_timeout(True) is True  # a bool is the int it is, as in the stdlib
    assert check_timeout(Fraction(1, 4)) == 0.25
    assert check_timeout(float("inf")) == float("inf")
    assert check_timeout(-1) == -1
    assert check_timeout(10**400) == 10**400
    with pytest.raises(ValueError, match=r"x must be non-negative, not -0\.5"):
        check_timeout(-0.5, "x", negative=False)
    with pytest.raises(ValueError, match="must be a number of seconds, not nan"):
        check_timeout(NAN, negative=True)
    for bad in ("1", b"1", bytearray(b"1"), None, 1j, [1], object()):
        with pytest.raises(TypeError, match="timeout must be a number of seconds"):
            check_timeout(bad)


def test_a_nan_sleep_from_a_native_hub_thread_does_not_freeze_it() -> None:
    # The original report: after Event().wait(nan), no sleep or Timeout fired.
    script = (
        "import greenlane\n"
        "from greenlane.event import Event\n"
        "try:\n"
        "    Event().wait(float('nan'))\n"
        "except ValueError:\n"
        "    pass\n"
        "greenlane.sleep(0.01)\n"
        "print('pass')\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, env=env, check=False
    )
    assert out.stdout.strip() == "pass", out.stderr
