"""threading.Thread is a green thread: join, is_alive, daemon, name, current_thread, enumerate, local."""
from _runtime import PATCHED, check, patch, same_os_thread

patch()
import threading  # noqa: E402
import time  # noqa: E402

results: dict[str, object] = {}
local = threading.local()


def work(n: int) -> None:
    local.value = n
    time.sleep(0.4)
    me = threading.current_thread()
    results[me.name] = (local.value, same_os_thread(), me.is_alive(), me.ident == threading.get_ident())


start = time.monotonic()
threads = [threading.Thread(target=work, args=(i,), name=f"worker-{i}", daemon=(i == 0)) for i in range(5)]
for t in threads:
    t.start()
check(all(t.is_alive() for t in threads), "started threads are alive")
check(len(threading.enumerate()) >= 6, f"enumerate lists the started threads: {threading.enumerate()}")
for t in threads:
    t.join()
elapsed = time.monotonic() - start
check(elapsed < 1.6, f"five 0.4 s sleeps overlap (took {elapsed:.2f} s; 2 s one after another)")
check(not any(t.is_alive() for t in threads), "joined threads are dead")
check(threads[0].daemon and not threads[1].daemon, "daemon flags kept")
check(sorted(results) == [f"worker-{i}" for i in range(5)], f"names: {sorted(results)}")
for i in range(5):
    value, same, alive, ident_ok = results[f"worker-{i}"]  # type: ignore[misc]
    check(value == i, "threading.local per thread")
    check(alive and ident_ok, "current_thread() is the Thread, alive, with get_ident()")
    if PATCHED:
        check(same, "patched threads run in the main OS thread")
check(threading.current_thread() is threading.main_thread(), "main thread is current in main")
check(threading.main_thread().ident == threading.get_ident(), "main ident")
# join with a timeout on a thread that runs longer
slow = threading.Thread(target=time.sleep, args=(0.5,))
slow.start()
slow.join(0.05)
check(slow.is_alive(), "join(timeout) returns while the thread still runs")
slow.join()
check(not slow.is_alive(), "then it ends")
# Condition / Event / Semaphore / Barrier / Timer
cond = threading.Condition()
box: list[int] = []


def producer() -> None:
    time.sleep(0.05)
    with cond:
        box.append(1)
        cond.notify_all()


threading.Thread(target=producer).start()
with cond:
    check(cond.wait_for(lambda: box, timeout=5), "Condition.wait_for woken by notify_all")
ev = threading.Event()
threading.Timer(0.05, ev.set).start()
check(ev.wait(5) and ev.is_set(), "Timer sets an Event")
ev.clear()
check(not ev.is_set() and not ev.wait(0.01), "Event.clear")
barrier = threading.Barrier(3)
order: list[int] = []


def at_barrier(i: int) -> None:
    barrier.wait(5)
    order.append(i)


bts = [threading.Thread(target=at_barrier, args=(i,)) for i in range(3)]
for t in bts:
    t.start()
for t in bts:
    t.join(5)
check(sorted(order) == [0, 1, 2], "Barrier releases all three")
sem = threading.BoundedSemaphore(2)
check(sem.acquire() and sem.acquire() and not sem.acquire(timeout=0.01), "Semaphore counts")
sem.release()
sem.release()
try:
    sem.release()
    check(False, "BoundedSemaphore over-release raises")
except ValueError:
    pass
print("pass")
