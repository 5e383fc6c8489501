"""Locks created before patching (module-level Lock and RLock, a logging handler's) still exclude
green threads that switch while holding them: no lost updates, no OS-thread deadlock."""
import logging
import threading

LOCK = threading.Lock()
RLOCK = threading.RLock()
handler = logging.StreamHandler()

from _runtime import check, patch  # noqa: E402

patch()
import time  # noqa: E402

counters = {"lock": 0, "rlock": 0}


def bump(name: str, lock: object) -> None:
    for _ in range(3):
        with lock:  # type: ignore[attr-defined]
            value = counters[name]
            time.sleep(0.001)  # switch while holding it
            counters[name] = value + 1


threads = [threading.Thread(target=bump, args=(name, lock)) for name, lock in
           (("lock", LOCK), ("rlock", RLOCK)) for _ in range(5)]
for t in threads:
    t.start()
for t in threads:
    t.join(20)
check(not any(t.is_alive() for t in threads), "no thread stuck")
check(counters == {"lock": 15, "rlock": 15}, f"no lost updates: {counters}")
print("pass")
