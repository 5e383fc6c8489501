"""fork after patching, from the main thread and from a green thread: the child has a working hub,
thread pool and patched modules; the parent carries on unaffected."""
import os

from _runtime import RUNTIME, check, patch

patch()
import threading  # noqa: E402
import time  # noqa: E402


def child_work() -> int:
    """What a forked child does; its exit status is 0 if everything worked."""
    box: list[int] = []
    ts = [threading.Thread(target=lambda i=i: (time.sleep(0.05), box.append(i))) for i in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(10)
    if sorted(box) != [0, 1, 2]:
        return 3
    if RUNTIME == "greenlane":
        from greenlane import tpool

        if tpool.execute(lambda: 6 * 7) != 42:
            return 4
    import queue

    q: queue.Queue[int] = queue.Queue()
    threading.Timer(0.05, q.put, args=(5,)).start()
    if q.get(timeout=10) != 5:
        return 5
    return 0


def fork_and_wait() -> int:
    pid = os.fork()
    if pid == 0:
        try:
            code = child_work()
        except BaseException:
            import traceback

            traceback.print_exc()
            code = 9
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


# keep some green threads busy in the parent across the forks
ticks: list[int] = []
stop = threading.Event()


def ticker() -> None:
    while not stop.is_set():
        ticks.append(1)
        time.sleep(0.01)


bg = threading.Thread(target=ticker)
bg.start()
check(fork_and_wait() == 0, "fork from the main thread: child works")
result: list[int] = []
forker = threading.Thread(target=lambda: result.append(fork_and_wait()))
forker.start()
forker.join(30)
check(result == [0], f"fork from a green thread: child works ({result})")
before = len(ticks)
time.sleep(0.2)
check(len(ticks) > before, "the parent's threads still run")
stop.set()
bg.join(10)
check(not bg.is_alive(), "parent thread joined")
print("pass")
