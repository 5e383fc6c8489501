"""A child forked from a green thread exits normally: its non-daemon threads are joined first, and
main_thread() is still the main thread there."""
import subprocess
import sys

from _runtime import RUNTIME, check

child = r'''
import sys
sys.path.insert(0, PATH)
from _runtime import patch
patch()
import os, threading, time

def forker():
    pid = os.fork()
    if pid == 0:
        def late():
            time.sleep(0.1)
            print("child thread done", threading.main_thread().name, flush=True)
        threading.Thread(target=late).start()
        return
    os.waitpid(pid, 0)

t = threading.Thread(target=forker, name="forker")
t.start()
t.join()
'''.replace("PATH", repr(sys.path[0]))
proc = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=60, check=False)
check(proc.returncode == 0, f"clean exit ({proc.returncode}): {proc.stderr}")
lines = proc.stdout.splitlines()
expected = "MainThread" if RUNTIME != "none" else "forker"  # with OS threads the forker becomes main
check(lines == [f"child thread done {expected}"], f"the child joined its thread: {lines} {proc.stderr}")
print("pass")
