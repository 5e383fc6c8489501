"""A non-daemon OS thread started through original("threading") is joined at exit, as the stdlib's are.

The copy of ``threading`` that ``original`` runs keeps its own thread registry, which the
interpreter's wait for non-daemon threads at exit never looks at: the thread was killed mid-work.
"""
import subprocess
import sys

from _runtime import check

child = r'''
import sys
sys.path.insert(0, PATH)
from _runtime import RUNTIME, patch
patch()
if RUNTIME == "greenlane":
    from greenlane.patcher import original
elif RUNTIME == "eventlet":
    from eventlet.patcher import original
else:
    import importlib
    original = importlib.import_module
real_threading, real_time = original("threading"), original("time")

def work():
    real_time.sleep(0.3)
    print("native thread done", flush=True)

real_threading.Thread(target=work).start()  # non-daemon
print("main done", flush=True)
'''.replace("PATH", repr(sys.path[0]))
proc = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=60, check=False)
check(proc.returncode == 0, f"clean exit ({proc.returncode}): {proc.stderr}")
lines = proc.stdout.splitlines()
check(lines == ["main done", "native thread done"], f"joined at exit: {lines} {proc.stderr}")
print("pass")
