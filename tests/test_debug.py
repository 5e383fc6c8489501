"""The green-thread dump, eventlet's debug toggles and spew."""

from __future__ import annotations

import _thread
import io
import os
import re
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator

import pytest

import greenlane
from greenlane import debug, tpool
from greenlane._core import Hub, Task, get_hub
from greenlane._core._wakers import python_signal_handlers
from greenlane.event import Event
from greenlane.green import socket as gsocket
from greenlane.greenpool import GreenPool
from greenlane.lock import Lock
from greenlane.queue import Queue
from greenlane.semaphore import Semaphore
from greenlane.testing import VirtualClock, wait_until, wait_until_parked

# Generous: bounds a hang in a broken build, never times a healthy one.
READ_TIMEOUT = 10


def _section(dump: str, name: str) -> str:
    """The dump's paragraph about the green thread whose repr starts with ``<GreenThread name``."""
    match = re.search(rf"^<GreenThread (\S*\.)?{re.escape(name)} .*?(?=^\S|\Z)", dump, re.M | re.S)
    assert match, f"no {name} in:\n{dump}"
    return match.group(0)


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    r, w = os.pipe()
    yield r, w
    os.close(r)
    os.close(w)


def test_dump_shows_each_kind_of_wait_with_its_reason_and_stack(pipe: tuple[int, int]) -> None:
    event, sem, lock, queue, full = Event(), Semaphore(0), Lock(), Queue(), Queue(1)
    full.put(1)
    pool = GreenPool(1)
    ours, theirs = gsocket.socketpair()
    ours_fd = ours.fileno()
    native = _thread.allocate_lock()
    native.acquire()
    lock.acquire()

    def on_event() -> None:
        event.wait()

    def on_semaphore() -> None:
        sem.acquire()

    def on_lock() -> None:
        with lock:
            pass

    def on_queue_get() -> None:
        queue.get(timeout=60)

    def on_queue_put() -> None:
        full.put(2)

    def on_fd() -> None:
        greenlane.trampoline(pipe[0], read=True)

    def on_sleep() -> None:
        greenlane.sleep(60)

    def on_pool() -> None:
        pool.spawn(event.wait)
        pool.spawn(event.wait)  # the pool is full: waits for room

    def on_tpool() -> None:
        tpool.execute(native.acquire)

    def on_socket() -> None:
        ours.recv(1)

    waiters: list[Callable[[], None]] = [
        on_event, on_semaphore, on_lock, on_queue_get, on_queue_put, on_fd, on_sleep, on_pool, on_tpool,
        on_socket,
    ]
    threads = [greenlane.spawn(fn) for fn in waiters]
    joiner = greenlane.spawn(threads[0].wait)
    try:
        wait_until_parked(*threads, joiner)
        dump = debug.format_greenthreads()
    finally:
        event.send()
        sem.release()
        lock.release()
        queue.put(0)
        full.get()
        os.write(pipe[1], b"x")
        threads[6].kill()
        native.release()
        theirs.send(b"x")
        for gt in [*threads[:6], *threads[7:], joiner]:
            gt.wait()
        pool.waitall()
        ours.close()
        theirs.close()

    expected = {
        "on_event": "waiting on event",
        "on_semaphore": "waiting on semaphore",
        "on_lock": "waiting on lock",
        "on_queue_get": "waiting on queue get",
        "on_queue_put": "waiting on queue put",
        "on_fd": f"waiting on fd {pipe[0]}",
        "on_sleep": "waiting on sleep",
        "on_pool": "waiting on GreenPool.spawn",
        "on_tpool": "waiting on tpool",
        "on_socket": f"waiting on socket: waiting to read (fd {ours_fd}, read)",
    }
    for name, reason in expected.items():
        section = _section(dump, name)
        assert f": {reason} for " in section.splitlines()[0], section
        assert f"in {name}\n" in section  # its own function is on its stack...
        assert ", in suspend\n" not in section and ", in work\n" not in section  # ...the parking is not
    on_socket_stack = _section(dump, "on_socket")
    assert on_socket_stack.rstrip().splitlines()[-2].endswith(", in recv")
    assert "in _wait" not in on_socket_stack  # green socket's private helpers trimmed, its recv kept
    assert "(times out in 59." in _section(dump, "on_sleep")
    assert "(times out in 59." in _section(dump, "on_queue_get")
    joined = r"^<GreenThread GreenThread\.wait .*>: waiting on green thread .*<locals>\.on_event for "
    assert re.search(joined, dump, re.M)
    assert dump.startswith(f"greenlane hub of thread {_thread.get_ident()} (")
    main = r"^main green thread: running \(it is taking this dump\)\n.*in test_dump_shows"
    assert re.search(main, dump, re.M | re.S)
    reader = rf"^readers \(2\):\n(.*\n)?  fd {pipe[0]}: <GreenThread .*on_fd .*waiting on fd {pipe[0]} for "
    assert re.search(reader, dump, re.M)
    assert re.search(r"^  in 59\.\d+ s: timeout of <GreenThread .*on_sleep .*> waiting on sleep$", dump, re.M)


def test_dump_shows_ready_queued_and_time_waited() -> None:
    event = Event()

    def waiter() -> None:
        event.wait()

    gt = greenlane.spawn(waiter)
    wait_until_parked(gt, reason="event")
    greenlane.sleep(0.2)  # real time is the point: gt has waited at least this long
    waited = float(re.search(r": waiting on event for (\d+\.\d+) s", debug.format_greenthreads()).group(1))  # type: ignore[union-attr]
    assert 0.15 <= waited < 60
    event.send()  # gt is now ready, not yet run
    queued = greenlane.spawn(int)
    dump = debug.format_greenthreads()
    assert re.search(r"^<GreenThread .*waiter .*>: ready \(resumes on the hub's next pass\)$", dump, re.M)
    assert re.search(r"^<GreenThread int queued>: queued, not started yet$", dump, re.M)
    gt.wait()
    queued.wait()


def test_dump_from_a_green_thread_and_of_a_finished_one() -> None:
    got: list[str] = []
    gt = greenlane.spawn(lambda: got.append(debug.format_greenthreads()))
    gt.wait()
    assert re.search(r"^<GreenThread .*<lambda> .*>: running \(it is taking this dump\)$", got[0], re.M)
    assert re.search(r"^main green thread: waiting on green thread ", got[0], re.M)
    assert not re.search(r"^<GreenThread .*<lambda>", debug.format_greenthreads(), re.M)  # finished: gone


def test_spawn_stacks_are_opt_in_and_free_when_off() -> None:
    assert Task.on_new is None
    debug.spawn_stacks(True)
    try:
        assert Task.on_new is not None  # the core's spawn observer
        gt = greenlane.spawn(greenlane.sleep, 0.01)
        dump = debug.format_greenthreads()
    finally:
        debug.spawn_stacks(False)
    assert Task.on_new is None  # off: spawn pays one None check
    assert re.search(r"^  spawned at:$", dump, re.M)
    where = "in test_spawn_stacks_are_opt_in_and_free_when_off\n      gt = greenlane.spawn("
    assert where in dump.split("spawned at:")[1]
    gt.wait()
    later = greenlane.spawn(greenlane.sleep, 0.01)
    assert not re.search(r"^  spawned at:$", debug.format_greenthreads(), re.M)
    later.wait()


def test_hub_timer_stacks_record_where_timers_were_set() -> None:
    debug.hub_timer_stacks(True)
    timer = get_hub().call_later(30, print, "never")
    try:
        listed = debug.format_hub_timers()
    finally:
        debug.hub_timer_stacks(False)
        timer.cancel()
    assert Hub.timer_wrapper is None
    shown = r"^  in (29\.\d+|30\.000) s: print\('never'\)\n    set at:\n.*in test_hub_timer_stacks"
    assert re.search(shown, listed, re.M | re.S)
    assert debug.format_hub_timers() == "timers (0):\n"


def test_format_hub_listeners_and_threads_info() -> None:
    a, b = socket.socketpair()
    try:
        gt = greenlane.spawn(greenlane.trampoline, b, write=False, read=True)
        wait_until_parked(gt)
        listeners = debug.format_hub_listeners()
        fd = b.fileno()
        shown = rf"readers \(1\):\n  fd {fd}: <GreenThread trampoline .*>, waiting on fd {fd} for "
        assert re.match(shown, listeners)
        assert listeners.endswith("writers (0):\n")
        a.send(b"x")
        gt.wait()
    finally:
        a.close()
        b.close()
    info = debug.format_threads_info()
    assert f"thread {_thread.get_ident()} MainThread (this thread):" in info
    assert "in test_format_hub_listeners_and_threads_info" in info


def test_install_dump_signal_writes_the_dump_and_keeps_deadlock_detection() -> None:
    out = io.StringIO()
    event = Event()
    gt = greenlane.spawn(event.wait)
    greenlane.sleep(0)
    previous = debug.install_dump_signal(signal.SIGUSR1, file=out)
    try:
        assert not python_signal_handlers(_thread.get_ident())  # a dump never wakes anyone
        os.kill(os.getpid(), signal.SIGUSR1)
        wait_until(out.getvalue)  # the handler runs at a bytecode boundary of this thread
    finally:
        signal.signal(signal.SIGUSR1, previous)
    dump = out.getvalue()
    assert re.search(r"^<GreenThread Event.wait .*>: waiting on event for ", dump, re.M)
    assert re.search(r"^main green thread: running \(it is taking this dump\)", dump, re.M)
    event.send()
    gt.wait()


def test_print_greenthreads_writes_to_the_file() -> None:
    out = io.StringIO()
    debug.print_greenthreads(file=out)
    assert out.getvalue().startswith("greenlane hub of thread ")
    assert "in test_print_greenthreads_writes_to_the_file" in out.getvalue()


def test_dump_times_use_wall_time_not_the_virtual_clock(virtual_clock: VirtualClock) -> None:
    gt = greenlane.spawn(greenlane.sleep, 1000)
    greenlane.sleep(500)  # virtual: no real time passes
    dump = debug.format_greenthreads()
    assert re.search(r"waiting on sleep for 0\.\d+ s \(times out in 500\.000 s\)", dump)
    gt.kill()


def test_eventlet_toggles_are_accepted() -> None:
    for toggle in (debug.hub_exceptions, debug.tpool_exceptions, debug.hub_listener_stacks):
        toggle(True)
        toggle(False)
    debug.hub_prevent_multiple_readers(True)


def _traced() -> int:
    total = 1
    total += 41
    return total


def test_spew_prints_each_line_until_unspew() -> None:
    out = io.StringIO()
    previous = sys.gettrace()
    try:
        debug.spew(trace_names=[__name__], show_values=True, file=out)
        assert repr(sys.gettrace()).startswith("<Spew trace_names=")
        _traced()
        debug.unspew()
        assert sys.gettrace() is None
        _traced()
    finally:
        sys.settrace(previous)
    text = out.getvalue()
    assert re.search(rf"^{__name__}:\d+:     total \+= 41\n\ttotal=1\n", text, re.M)
    assert text.count("total += 41") == 1  # nothing after unspew
    assert "greenlane" not in text.replace(__name__, "")  # trace_names filtered other modules out


def test_spew_takes_a_single_module_name_as_one_name() -> None:
    # A string was split into one-letter prefixes: every module starting with any of its letters matched.
    out = io.StringIO()
    spew = debug.Spew(__name__ + "_elsewhere", show_values=False, file=out)
    assert spew.trace_names == (__name__ + "_elsewhere",)
    spew(sys._getframe(), "line", None)
    assert out.getvalue() == ""
    debug.Spew(__name__, show_values=False, file=out)(sys._getframe(), "line", None)
    assert out.getvalue().startswith(f"{__name__}:")


SPEWED_GLOBAL = "a module-level value"


def test_spew_shows_globals_named_on_the_line_and_code_without_a_file() -> None:
    out = io.StringIO()
    spew = debug.Spew(show_values=True, file=out)
    frame = sys._getframe()
    spew(frame, "line", None); SPEWED_GLOBAL  # noqa: B018, E702 - the line the frame is on
    assert "\tSPEWED_GLOBAL='a module-level value'\n" in out.getvalue()
    out.truncate(0)
    out.seek(0)
    scope = {k: v for k, v in globals().items() if k != "__file__"}
    exec_frame = eval("sys._getframe()", scope)
    spew(exec_frame, "line", None)
    assert out.getvalue() == f"[unknown]:{exec_frame.f_lineno}: VM instruction #{exec_frame.f_lasti}\n"


def test_unspew_leaves_another_tools_tracer_alone() -> None:
    previous = sys.gettrace()

    def other_tool(frame: object, event: str, arg: object) -> None:
        return None

    try:
        sys.settrace(other_tool)
        debug.unspew()
        assert sys.gettrace() is other_tool
    finally:
        sys.settrace(previous)


def test_dump_of_another_os_threads_hub() -> None:
    started, release = threading.Event(), threading.Event()  # native: nothing is patched in-process
    hubs: list[Hub] = []

    def worker() -> None:
        hubs.append(get_hub())
        gt = greenlane.spawn(greenlane.sleep, 0.05)
        greenlane.sleep(0)  # gt now waits on its timer
        started.set()
        release.wait(READ_TIMEOUT)  # the thread's main green thread runs (blocked in C)
        gt.wait()

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        assert started.wait(READ_TIMEOUT)
        dump = debug.format_greenthreads(hubs[0])
    finally:
        release.set()
        thread.join()
    assert dump.startswith(f"greenlane hub of thread {thread.ident} ")
    running = r"^main green thread: running \(in its own OS thread\)\n(.*\n)*.* in worker\n"
    assert re.search(running, dump, re.M)
    assert re.search(r"^<GreenThread sleep .*>: waiting on sleep for ", dump, re.M)
