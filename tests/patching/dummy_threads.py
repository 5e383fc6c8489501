"""current_thread() in green threads threading did not start: the _DummyThread registry stays small."""
import _thread

from _runtime import check, patch

patch()
import threading  # noqa: E402
import time  # noqa: E402

names: list[str] = []


def body() -> None:
    names.append(threading.current_thread().name)


for _ in range(2000):
    _thread.start_new_thread(body, ())
deadline = time.monotonic() + 30
while len(names) < 2000 and time.monotonic() < deadline:
    time.sleep(0.01)
time.sleep(0.1)
import gc  # noqa: E402

gc.collect()
check(len(names) == 2000, f"all ran ({len(names)})")
check(len(threading.enumerate()) < 100, f"dummy threads forgotten: {len(threading.enumerate())} registered")
# 3.13+: threading's per-OS-thread slot for the tracker that forgets an OS thread's dummy. The
# main OS thread has no dummy, so no tracker: one left there would die at interpreter exit.
slot = getattr(threading, "_thread_local_info", None)
check(getattr(slot, "_track_dummy_thread_ref", None) is None, "no dummy tracker left in the main OS thread")
print("pass")
