"""subprocess (imported before patching): communicate, run, check_output, wait and timeouts
park only the caller."""
import subprocess
import sys

from _runtime import PATCHED, check, patch

patch()
import threading  # noqa: E402
import time  # noqa: E402

ticks: list[float] = []
stop = threading.Event()


def ticker() -> None:
    while not stop.is_set():
        ticks.append(time.monotonic())
        time.sleep(0.01)


t = threading.Thread(target=ticker)
t.start()
child = (
    "import sys, time; data = sys.stdin.read(); time.sleep(0.3); print(data.upper()); "
    "print('e', file=sys.stderr)"
)
proc = subprocess.Popen([sys.executable, "-c", child], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE)
before = len(ticks)
out, err = proc.communicate(b"hello" * 20000)
check(out.strip() == b"HELLO" * 20000 and err.strip() == b"e", f"communicate output {out[:20]!r} {err!r}")
check(proc.returncode == 0, "return code")
if PATCHED:
    check(len(ticks) - before >= 5, f"other threads ran during communicate ({len(ticks) - before} ticks)")
done = subprocess.run([sys.executable, "-c", "print(input())"], input="abc", capture_output=True, text=True,
                      check=False)
check(done.stdout == "abc\n", f"run text mode: {done!r}")
check(subprocess.check_output([sys.executable, "-c", "print(42)"]) == b"42\n", "check_output")
try:
    subprocess.check_call([sys.executable, "-c", "raise SystemExit(3)"])
    check(False, "check_call raises")
except subprocess.CalledProcessError as exc:
    check(exc.returncode == 3, "CalledProcessError.returncode")
start = time.monotonic()
try:
    subprocess.run([sys.executable, "-c", "import time; time.sleep(10)"], timeout=0.3, check=False)
    check(False, "run timeout raises")
except subprocess.TimeoutExpired:
    pass
check(time.monotonic() - start < 5, "timed-out child killed promptly")
slow = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(10)"], stdout=subprocess.PIPE)
try:
    slow.communicate(timeout=0.2)
    check(False, "communicate timeout raises")
except subprocess.TimeoutExpired:
    pass
slow.kill()
out, _ = slow.communicate()
check(out == b"" and slow.returncode is not None and slow.returncode < 0, f"killed: {slow.returncode}")
before = len(ticks)
check(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.3)"]).wait() == 0, "wait")
if PATCHED:
    check(len(ticks) - before >= 5, "other threads ran during wait")
stop.set()
t.join()
print("pass")
