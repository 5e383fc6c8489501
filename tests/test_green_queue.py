"""greenlane.green.queue's SimpleQueue; the standalone green queue and threading (in a fresh interpreter)."""

from __future__ import annotations

import queue
import threading

import pytest

import greenlane
from greenlane.green import queue as gqueue
from helpers import run_script


def test_simple_queue_parks_and_keeps_stdlib_meanings() -> None:
    q: gqueue.SimpleQueue[int] = gqueue.SimpleQueue()
    assert q.empty() and q.qsize() == 0
    greenlane.spawn_after(0.02, q.put, 1)
    assert q.get(timeout=5) == 1
    with pytest.raises(queue.Empty):
        q.get(timeout=0.01)
    with pytest.raises(queue.Empty):
        q.get_nowait()
    with pytest.raises(queue.Empty):
        q.get(False, timeout=-1)  # non-blocking ignores the timeout, as the stdlib does
    with pytest.raises(ValueError, match="non-negative"):
        q.get(timeout=-1)
    for i in range(3):
        q.put_nowait(i)
    assert repr(q) == "<green SimpleQueue size=3 getters=0>"
    assert [q.get() for _ in range(3)] == [0, 1, 2]
    assert gqueue.SimpleQueue[int] is not None


def test_simple_queue_fed_from_a_native_thread() -> None:
    q: gqueue.SimpleQueue[int] = gqueue.SimpleQueue()
    greenlane.spawn(q.get, timeout=5)  # the queue gets its owning hub
    greenlane.sleep(0)
    t = threading.Thread(target=lambda: [q.put(i) for i in range(3)])
    t.start()
    got = [q.get(timeout=5), q.get(timeout=5)]
    t.join(5)
    assert sorted(got) in ([0, 1], [0, 2], [1, 2])


def test_standalone_copies_are_green_without_patching() -> None:
    proc = run_script(
        """
        import queue as std_queue, threading as std_threading, _thread
        from greenlane.green import queue, threading
        import greenlane
        assert not greenlane.is_monkey_patched("thread")
        q = queue.Queue()  # the stdlib's meanings, green
        assert q.maxsize == 0 and queue.Empty is std_queue.Empty and queue.Full is std_queue.Full
        native = []
        t = threading.Thread(target=lambda: native.append(_thread.get_native_id()) or q.put(1), name="g")
        t.start()
        assert q.get(timeout=5) == 1 and native == [_thread.get_native_id()]
        t.join(); assert not t.is_alive() and t.name == "g"
        assert threading.Thread is not std_threading.Thread
        assert threading.BrokenBarrierError is std_threading.BrokenBarrierError
        ev = threading.Event(); threading.Timer(0.01, ev.set).start(); assert ev.wait(5)
        assert isinstance(queue.SimpleQueue(), queue.SimpleQueue)
        try:
            q.get(timeout=-1)
        except ValueError:
            pass
        else:
            raise AssertionError("negative timeout")
        late = threading.Thread(target=lambda: (greenlane.sleep(0.1), print("late")))
        late.start()
        print("main")
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["main", "late"]  # non-daemon copy threads joined at exit
