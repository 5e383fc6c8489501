"""monkey_patch(os=False, thread=False) (Nova's debugger mode): threads stay OS threads, the rest is green."""
import os as os_module
import threading as threading_before

from _runtime import RUNTIME, check, patch

read_before = os_module.read
patch(os=False, thread=False)
import socket  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

check(threading is threading_before, "one threading module")
seen: list[int] = []
t = threading.Thread(target=lambda: seen.append(threading.get_native_id()))
t.start()
t.join(10)
check(seen and seen[0] != threading.get_native_id(), "threads are OS threads")
check(os_module.read is read_before, "os.read untouched")
if RUNTIME == "greenlane":
    import greenlane

    patched = greenlane.is_monkey_patched
    check(patched("socket") and patched("time"), "socket and time patched")
    check(not patched("thread") and not patched("os"), "thread and os not patched")
    ticks: list[int] = []

    def ticker() -> None:
        for _ in range(10):
            ticks.append(1)
            time.sleep(0.01)

    g = greenlane.spawn(ticker)
    a, b = socket.socketpair()
    greenlane.spawn_after(0.2, b.sendall, b"x")
    check(a.recv(1) == b"x", "green recv")
    check(len(ticks) >= 5, "green threads ran while recv waited")
    g.wait()
    a.close()
    b.close()
print("pass")
