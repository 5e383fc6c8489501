"""The patched queue module keeps the stdlib's meanings; SimpleQueue and Queue park green threads."""
import queue

from _runtime import PATCHED, check, patch, same_os_thread

patch()
import threading  # noqa: E402
import time  # noqa: E402

q: queue.Queue[int] = queue.Queue(0)
for i in range(100):
    q.put_nowait(i)  # maxsize 0: unbounded
check(q.qsize() == 100 and not q.full(), "Queue(0) is unbounded")
try:
    q.get(timeout=-1)
    check(False, "negative timeout")
except ValueError:
    pass
bounded: queue.Queue[int] = queue.Queue(1)
bounded.put(1)
try:
    bounded.put(2, timeout=0.05)
    check(False, "Full expected")
except queue.Full:
    pass
for cls in (queue.SimpleQueue, queue.Queue, queue.LifoQueue, queue.PriorityQueue):
    sq = cls()
    got: list[object] = []

    def consumer(sq: object = sq, got: list[object] = got) -> None:
        got.append(sq.get(timeout=10))  # type: ignore[attr-defined]
        got.append(same_os_thread())

    c = threading.Thread(target=consumer)
    c.start()
    time.sleep(0.05)
    sq.put(7)
    c.join(10)
    check(got[0] == 7, f"{cls.__name__} hands the item over")
    if PATCHED:
        check(got[1], f"{cls.__name__} consumer is green")
    try:
        sq.get(timeout=0.01)
        check(False, f"{cls.__name__}: Empty expected")
    except queue.Empty:
        pass
lifo: queue.LifoQueue[int] = queue.LifoQueue()
for i in range(3):
    lifo.put(i)
check([lifo.get() for _ in range(3)] == [2, 1, 0], "LIFO")
jq: queue.Queue[int] = queue.Queue()
done: list[int] = []


def worker() -> None:
    while True:
        item = jq.get()
        done.append(item)
        jq.task_done()


threading.Thread(target=worker, daemon=True).start()
for i in range(5):
    jq.put(i)
jq.join()
check(done == [0, 1, 2, 3, 4], "task_done/join")
if hasattr(queue.Queue, "shutdown"):  # Python 3.13+
    sd: queue.Queue[int] = queue.Queue()
    sd.shutdown()
    try:
        sd.put(1)
        check(False, "ShutDown expected")
    except queue.ShutDown:  # type: ignore[attr-defined]
        pass
print("pass")
