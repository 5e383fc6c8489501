"""Interpreter exit: non-daemon green threads are joined first and daemon ones dropped quietly;
patched locks and get_ident keep working in __del__ methods run while the interpreter finalizes
(greenlet 3.5+ raises RuntimeError from getcurrent() then)."""
import subprocess
import sys

from _runtime import check

child = r'''
import sys
sys.path.insert(0, PATH)
from _runtime import patch
patch()
import threading, time

class LocksWhenCollected:
    def __del__(self):
        with threading.Lock(), threading.RLock():
            print("collected", threading.get_ident() is not None, flush=True)

if sys.argv[1] == "finalize":
    keep = LocksWhenCollected()     # collected while the interpreter finalizes
    cycle = LocksWhenCollected(); cycle.me = cycle
    threading.Thread(target=time.sleep, args=(0.05,)).start()
else:
    def slow():
        time.sleep(0.3)
        print("non-daemon finished", flush=True)

    def forever():
        while True:
            time.sleep(0.05)

    threading.Thread(target=slow).start()
    threading.Thread(target=forever, daemon=True).start()
    threading.Thread(target=threading.Event().wait, daemon=True).start()   # parked forever
print("main done", flush=True)
'''.replace("PATH", repr(sys.path[0]))

for mode, expected in (
    ("threads", ["main done", "non-daemon finished"]),
    ("finalize", ["main done", "collected True", "collected True"]),
):
    proc = subprocess.run([sys.executable, "-c", child, mode], capture_output=True, text=True, timeout=60,
                          check=False)
    lines = proc.stdout.splitlines()
    check(proc.returncode == 0, f"{mode}: clean exit ({proc.returncode}): {proc.stderr}")
    check(lines == expected, f"{mode}: {lines}")
    quiet = "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr
    check(quiet, f"quiet exit: {proc.stderr}")
print("pass")
