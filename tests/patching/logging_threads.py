"""logging configured (and in use by an OS thread) while patching, then used from many green threads."""
import io
import logging
import threading

from _runtime import RUNTIME, check, patch

stream = io.StringIO()
handler = logging.StreamHandler(stream)
handler.setFormatter(logging.Formatter("%(threadName)s %(message)s"))
log = logging.getLogger("scenario")
log.addHandler(handler)
log.setLevel(logging.INFO)
stop = threading.Event()


def chatter() -> None:  # an OS thread logging throughout the patching
    while not stop.is_set():
        log.info("os thread")


os_thread = threading.Thread(target=chatter, name="chatter", daemon=True)
os_thread.start()
patch()
stop.set()
os_thread.join(5)
import time  # noqa: E402


class SlowStream(io.StringIO):
    """A stream that yields while the handler's lock is held: a real lock would deadlock."""

    def write(self, s: str) -> int:
        time.sleep(0.001)
        return super().write(s)


slow = logging.StreamHandler(SlowStream())
slow.setFormatter(logging.Formatter("%(threadName)s %(message)s"))
log.addHandler(slow)


def worker(i: int) -> None:
    for j in range(20):
        log.info("green %d %d", i, j)


threads = [threading.Thread(target=worker, args=(i,), name=f"g{i}") for i in range(10)]
for t in threads:
    t.start()
for t in threads:
    t.join(30)
check(not any(t.is_alive() for t in threads), "all loggers finished")
lines = [line for line in slow.stream.getvalue().splitlines() if " green " in line]  # type: ignore[attr-defined]
check(len(lines) == 200, f"200 records, got {len(lines)}")
check(all(line.startswith("g") for line in lines), "threadName is the green thread's")
if RUNTIME == "greenlane":
    from greenlane.green.thread import RLock

    check(isinstance(handler.lock, RLock), f"handler made before patching got a green lock: {handler.lock!r}")
    check(isinstance(logging._lock, RLock), "logging's module lock is green")  # type: ignore[attr-defined]
print("pass")
