"""monkey_patch(builtins=True): open() announces each new fd, so stale waiters on its number get IOClosed."""
import builtins
import io
import os
import tempfile

from _runtime import RUNTIME, check, patch

real_open = builtins.open
patch(builtins=True)

if RUNTIME == "eventlet":
    import eventlet as green
    from eventlet import hubs, tpool
else:
    import greenlane as green
    from greenlane import hubs, patcher, tpool

check(builtins.open is not real_open and io.open is builtins.open, "builtins.open (and io.open) replaced")
if RUNTIME == "greenlane":
    check(patcher.original("builtins").open is real_open, "original('builtins').open is the real one")

# A green thread waits on a pipe's read end; the fd is closed behind the hub's back and
# the number is reused by open(): the waiter learns it was closed instead of waiting forever.
r, w = os.pipe()
outcome: list[str] = []


def reader() -> None:
    try:
        hubs.trampoline(r, read=True, timeout=10)
        outcome.append("woken as readable")
    except hubs.IOClosed:
        outcome.append("IOClosed")
    except green.Timeout:
        outcome.append("timed out")


gt = green.spawn(reader)
green.sleep(0)
os.close(r)  # raw close: nobody told the hub
path = os.path.join(tempfile.mkdtemp(), "f")
with open(path, "w") as f:
    check(f.fileno() == r, f"the pipe's number is reused ({f.fileno()} vs {r})")
    gt.wait()
check(outcome == ["IOClosed"], f"the stale waiter got IOClosed: {outcome}")
os.close(w)



# A native worker thread opens without announcing (it has no hub to tell).
def in_worker() -> bool:
    from greenlane._core import existing_hub

    with open(path) as f:
        f.read()
    return existing_hub() is None


if RUNTIME == "greenlane":
    check(tpool.execute(in_worker), "open() in a tpool worker made no hub there")
print("pass")
