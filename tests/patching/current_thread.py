"""current_thread() in green threads threading did not start: eventlet's _GreenThread, never in _active."""
import gc
import io
import logging
import warnings
import weakref

from _runtime import RUNTIME, check, patch

patch()
import threading  # noqa: E402

if RUNTIME == "eventlet":
    import eventlet as green
else:
    import greenlane as green
from greenlane import patcher  # noqa: E402

warnings.simplefilter("error")  # eventlet's old names warn nothing (the stdlib's do)
before = threading.active_count()
seen: dict[str, object] = {}


def spawned() -> None:
    me = threading.current_thread()
    seen["me"] = me
    seen["again"] = threading.currentThread()
    seen["repr"] = repr(me)
    seen["ident"] = (me.ident, threading.get_ident(), id(me._g), me._g is green.getcurrent())
    seen["flags"] = (me.is_alive(), me.isAlive(), me.daemon, me.isDaemon(), me.is_daemon())
    seen["names"] = [me.name, me.getName(), me.get_name()]
    me.name = "foo"
    seen["names"].append(me.getName())  # type: ignore[attr-defined]
    me.setName("bar")
    seen["names"].append(me.name)  # type: ignore[attr-defined]
    seen["listed"] = me in threading.enumerate() or threading.active_count() != before
    seen["thread_daemon"] = threading.Thread(target=print).daemon  # inherited, as from any dummy thread
    try:
        me.join()
    except RuntimeError as exc:
        seen["self_join"] = str(exc)


gt = green.spawn(spawned)
gt.wait()
me = seen["me"]
check(seen["again"] is me, "the same object on every call (currentThread too)")
check(str(seen["repr"]).startswith("<_GreenThread(GreenThread-"), f"eventlet's repr: {seen['repr']}")
ident, get_ident, id_g, g_is_current = seen["ident"]  # type: ignore[misc]
check(ident == get_ident == id_g and g_is_current, f"ident is get_ident() and id(_g): {seen['ident']}")
check(seen["flags"] == (True, True, True, True, True), f"alive and daemon inside: {seen['flags']}")
names = seen["names"]
check(names[:3] == [names[0]] * 3 and str(names[0]).startswith("GreenThread-"), f"names: {names}")
check(names[3:] == ["foo", "bar"], f"renamed: {names}")
check(not seen["listed"], "not registered in threading._active: enumerate() and active_count() unchanged")
check(seen["thread_daemon"] is True, "a Thread made in a green thread is a daemon")
check(seen["self_join"] == "cannot join current thread", f"joining itself: {seen.get('self_join')}")
check(not me.is_alive(), "not alive once ended")  # type: ignore[attr-defined]
check(threading.current_thread() is threading.main_thread(), "the main green thread is the main thread")

# join waits for the end and leaves the outcome to wait().
gate = green.event.Event()


def ends_badly() -> None:
    seen["bad"] = threading.current_thread()
    gate.wait()
    raise ValueError("kept for wait()")


bad = green.spawn(ends_badly)
green.sleep(0)
seen["bad"].join(0.01)  # type: ignore[attr-defined]
check(seen["bad"].is_alive(), "join(timeout) returns while it runs")  # type: ignore[attr-defined]
green.spawn(gate.send)
seen["bad"].join()  # type: ignore[attr-defined]
check(not seen["bad"].is_alive(), "join() returns once it ended")  # type: ignore[attr-defined]
try:
    bad.wait()
    check(False, "wait() raises the thread's exception after join()")
except ValueError:
    pass

# spawn_n: a wrapper of its own (eventlet answers the OS thread's Thread there).
gate = green.event.Event()


def spawned_n() -> None:
    seen["n"] = threading.current_thread()
    gate.wait()


green.spawn_n(spawned_n)
green.sleep(0)
n = seen["n"]
check(n is not me and repr(n).startswith("<_GreenThread("), f"spawn_n: a wrapper of its own, not {n!r}")
try:
    n.join()  # type: ignore[attr-defined]
    check(False, "a running spawn_n thread cannot be joined")
except RuntimeError as exc:
    check("spawn()ed" in str(exc), f"names why: {exc}")
gate.send()
green.sleep(0)
check(not n.is_alive(), "a spawn_n thread's wrapper knows it ended")  # type: ignore[attr-defined]
n.join()  # type: ignore[attr-defined]  # an ended thread joins at once, as the stdlib's

# logging's threadName is the green thread's name.
stream = io.StringIO()
handler = logging.StreamHandler(stream)
handler.setFormatter(logging.Formatter("%(threadName)s"))
log = logging.getLogger("current_thread")
log.addHandler(handler)
green.spawn(lambda: (threading.current_thread().setName("request-7"), log.warning("x"))).wait()
check(stream.getvalue() == "request-7\n", f"logging's threadName: {stream.getvalue()!r}")

# Many green threads: nothing accumulates; the wrapper goes with its handle (no cycle).
for _ in range(1000):
    green.spawn(threading.current_thread).wait()
check(threading.active_count() == before, f"_active unchanged after 1000 spawns: {threading.enumerate()}")
gc.disable()
handle = green.spawn(threading.current_thread)
ref = weakref.ref(handle.wait())
del handle
check(ref() is None, "the wrapper is freed with its handle, without the cycle collector")
gc.enable()

# A native thread original("threading") started is that Thread, as eventlet's fallback gives.
real = patcher.original("threading")
out: list[object] = []
t = real.Thread(target=lambda: out.append(threading.current_thread()), name="native-1")
t.start()
t.join()
check(out == [t], f"original('threading').Thread is seen as itself: {out}")
check(threading.active_count() == before and len(real._active) == 1, "no dummy left in either module")
print("pass")
