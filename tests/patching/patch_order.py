"""Patching in steps (time, then thread, then the rest) and importing modules before and after each step."""
import queue as queue_before  # noqa: F401
import threading

from _runtime import RUNTIME, check, patch

patch(time=True)
import time  # noqa: E402

check(threading.Thread(target=lambda: None).daemon is False, "threading still usable")
patch(thread=True)
import concurrent.futures  # noqa: E402  (imported between steps)
import queue  # noqa: E402

patch()
patch()  # again: nothing changes
import socketserver  # noqa: E402, F401  (imported after)

q: queue.Queue[int] = queue.Queue()
with concurrent.futures.ThreadPoolExecutor(4) as pool:
    futs = [pool.submit(lambda i=i: (time.sleep(0.1), q.put(i))) for i in range(4)]
    concurrent.futures.wait(futs, timeout=10)
check(sorted(q.get(timeout=1) for _ in range(4)) == [0, 1, 2, 3], "pool and queue work")
if RUNTIME == "greenlane":
    import greenlane

    for keyword in ("time", "thread", "socket", "select", "os", "subprocess"):
        check(greenlane.is_monkey_patched(keyword), f"{keyword} patched")
print("pass")
