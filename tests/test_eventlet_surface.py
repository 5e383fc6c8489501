"""The rest of eventlet's surface that real code uses: support, pools, deprecated names, and the behaviours
real services depend on (tpool.Proxy under mock.patch, GreenPool.coroutines_running, GreenSocket(sock)).
"""

from __future__ import annotations

import errno
import gc
import logging
import socket
import warnings
from typing import Any
from unittest import mock

import greenlet
import pytest

import greenlane
from greenlane import greenio, greenpool, greenthread, pools, support, tpool
from greenlane.green import socket as gsocket
from greenlane.green import thread as gthread
from greenlane.support import greendns, greenlets
from greenlane.testing import VirtualClock
from helpers import run_script

# -- support ------------------------------------------------------------------


def test_get_errno_prefers_errno_then_the_first_argument() -> None:
    assert support.get_errno(OSError(errno.EPIPE, "broken")) == errno.EPIPE
    assert support.get_errno(Exception(errno.ECONNRESET)) == errno.ECONNRESET
    assert support.get_errno(Exception()) is None


def test_support_greenlets_names_are_greenlets() -> None:
    assert greenlets.GreenletExit is greenlet.GreenletExit
    assert greenlets.greenlet is greenlet.greenlet
    assert greenlets.getcurrent() is greenlet.getcurrent()


def test_greendns_resolvers_are_the_green_sockets() -> None:
    assert greendns.getaddrinfo is gsocket.getaddrinfo
    assert greendns.gethostbyname is gsocket.gethostbyname
    assert greendns.gethostbyname_ex is gsocket.gethostbyname_ex
    assert greendns.getnameinfo is gsocket.getnameinfo


@pytest.mark.parametrize(
    ("host", "v4", "v6"),
    [
        ("127.0.0.1", True, False),
        ("::1", False, True),
        ("fe80::1%2", False, True),
        ("example.com", False, False),
        ("1.2.3", False, False),
        (b"127.0.0.1", False, False),
        (None, False, False),
    ],
)
def test_greendns_address_predicates(host: Any, v4: bool, v6: bool) -> None:
    assert greendns.is_ipv4_addr(host) is v4
    assert greendns.is_ipv6_addr(host) is v6
    assert greendns.is_ip_addr(host) is (v4 or v6)


# -- pools --------------------------------------------------------------------


def test_pool_creates_on_demand_up_to_max_size_then_reuses() -> None:
    made: list[int] = []

    def create() -> int:
        made.append(len(made))
        return made[-1]

    pool = pools.Pool(max_size=2, create=create)
    a, b = pool.get(), pool.get()
    assert (a, b) == (0, 1)
    assert pool.free() == 0
    pool.put(a)
    assert pool.get() == a
    assert made == [0, 1]


def test_pool_min_size_prefills_and_order_as_stack_lends_the_latest_first() -> None:
    pool = pools.Pool(min_size=2, max_size=3, order_as_stack=True, create=object)
    assert pool.current_size == 2 and pool.free() == 3
    x, y = pool.get(), pool.get()
    pool.put(x)
    pool.put(y)
    assert pool.get() is y


def test_pool_round_robin_by_default() -> None:
    pool = pools.Pool(min_size=2, max_size=2, create=object)
    x, y = pool.get(), pool.get()
    pool.put(x)
    pool.put(y)
    assert pool.get() is x


def test_a_returned_item_goes_to_the_longest_waiter_not_a_newcomer() -> None:
    pool = pools.TokenPool(max_size=1)
    held = pool.get()
    got: list[tuple[str, object]] = []

    def getter(name: str) -> None:
        got.append((name, pool.get()))

    waiters = [greenlane.spawn(getter, name) for name in ("first", "second")]
    greenlane.sleep(0)
    assert pool.waiting() == 2
    pool.put(held)
    assert pool.free() == 0  # handed over, not stored: a get() now would wait
    waiters[0].wait()
    assert got == [("first", held)]
    pool.put(held)
    waiters[1].wait()
    assert got[1] == ("second", held)
    assert pool.waiting() == 0


def test_an_item_handed_to_a_getter_that_dies_first_is_not_lost() -> None:
    pool = pools.TokenPool(max_size=1)
    held = pool.get()
    getters = [greenlane.spawn(pool.get) for _ in range(2)]
    greenlane.sleep(0)
    pool.put(held)  # handed to the first getter, which has not run yet
    for getter in getters:
        getter.kill()  # both die before taking it
    assert list(pool.free_items) == [held]
    assert pool.waiting() == 0 and pool.free() == 1
    assert pool.get() is held


def test_pool_item_context_manager_returns_the_item() -> None:
    pool = pools.TokenPool(max_size=4)
    with pool.item() as token:
        assert isinstance(token, pools.Token)
        assert pool.free() == 3
    assert pool.free() == 4


def test_pool_create_failure_does_not_use_up_a_slot() -> None:
    pool: pools.Pool[int] = pools.Pool(max_size=1, create=lambda: 1 // 0)
    with pytest.raises(ZeroDivisionError):
        pool.get()
    assert pool.current_size == 0 and pool.free() == 1


def test_pool_shrunk_drops_items_as_they_come_back() -> None:
    pool = pools.Pool(max_size=2, create=object)
    a, b = pool.get(), pool.get()
    pool.resize(1)
    pool.put(a)
    assert pool.current_size == 1 and not pool.free_items
    pool.put(b)
    assert list(pool.free_items) == [b]


def test_pool_without_create_says_what_is_missing() -> None:
    with pytest.raises(NotImplementedError, match="create"):
        pools.Pool(max_size=1).get()
    with pytest.raises(ValueError, match="-1"):
        pools.Pool(max_size=-1)


# -- eventlet's deprecated and compatibility names ----------------------------


def test_call_after_global_warns_and_runs_later(virtual_clock: VirtualClock) -> None:
    ran: list[float] = []
    with pytest.warns(DeprecationWarning, match="spawn_after"):
        gt = greenlane.call_after_global(5, lambda: ran.append(virtual_clock.now()))
    greenlane.sleep(10)
    gt.wait()
    assert ran == [5]


def test_call_after_global_can_be_cancelled(virtual_clock: VirtualClock) -> None:
    ran: list[int] = []
    with pytest.warns(DeprecationWarning):
        gt = greenthread.call_after_global(5, ran.append, 1)
    gt.cancel()
    greenlane.sleep(10)
    assert ran == []


def test_exc_after_raises_in_the_caller_and_cancel_stops_it(virtual_clock: VirtualClock) -> None:
    with pytest.warns(DeprecationWarning):
        timer = greenlane.exc_after(1, ValueError, "late")
    with pytest.raises(ValueError, match="late"):
        greenlane.sleep(2)
    with pytest.warns(DeprecationWarning):
        timer = greenthread.exc_after(1, ValueError)
    timer.cancel()
    greenlane.sleep(2)  # nothing raised
    with pytest.warns(DeprecationWarning):
        greenthread.exc_after(None).cancel()


def test_top_level_timeout_error_is_timeout_with_a_warning() -> None:
    with pytest.warns(DeprecationWarning, match="Timeout"):
        assert greenlane.TimeoutError is greenlane.Timeout
    with pytest.warns(DeprecationWarning):
        assert greenthread.TimeoutError is greenlane.Timeout  # type: ignore[attr-defined]


def test_wrap_is_timeout_marks_classes_and_factories() -> None:
    class Slow(Exception):
        pass

    assert greenlane.wrap_is_timeout(Slow) is Slow
    assert greenlane.is_timeout(Slow())

    def make() -> Exception:
        return Exception("x")

    wrapped = greenlane.wrap_is_timeout(make)
    assert wrapped.__name__ == "make"
    assert greenlane.is_timeout(wrapped())
    assert not greenlane.is_timeout(make())


def test_greenpool_debug_false_silences_spawn_n_failures(caplog: pytest.LogCaptureFixture) -> None:
    pool = greenlane.GreenPool()
    with caplog.at_level(logging.ERROR, logger="greenlane.greenpool"):
        with mock.patch.object(greenpool, "DEBUG", False):
            pool.spawn_n(lambda: 1 // 0)
            pool.waitall()
        assert not caplog.records
        pool.spawn_n(lambda: 1 // 0)
        pool.waitall()
    assert len(caplog.records) == 1
    assert caplog.records[0].getMessage().endswith("<lambda> (GreenPool.spawn_n) failed")


def test_integral_float_sizes_are_accepted_as_by_eventlet() -> None:
    assert greenlane.GreenPool(1e3).size == 1000
    assert greenlane.Semaphore(1e2).counter == 100
    for bad in (1.5, "foo"):
        with pytest.raises(TypeError):
            greenlane.GreenPool(bad)  # type: ignore[arg-type]


def test_imap_has_eventlets_next() -> None:
    it = greenlane.GreenPool(2).imap(lambda x: x * 2, [1, 2])
    assert it.next() == 2  # type: ignore[attr-defined]
    assert list(it) == [4]


def test_waitall_from_a_pool_thread_is_an_assertion_error_too() -> None:
    pool = greenlane.GreenPool()
    gt = pool.spawn(pool.waitall)
    with pytest.raises(AssertionError, match="wait for itself"):
        gt.wait()
    with pytest.raises(RuntimeError):
        pool.spawn(pool.waitall).wait()


def test_tpool_private_size_and_threads_as_cinders_fixtures_use_them() -> None:
    before = tpool._nthreads  # type: ignore[attr-defined]
    try:
        tpool.killall()
        assert tpool._threads == []  # type: ignore[attr-defined]
        tpool._nthreads = 3  # type: ignore[attr-defined]
        assert tpool._nthreads == 3  # type: ignore[attr-defined]
        assert tpool.execute(lambda: 1) == 1
        # Workers start as calls need them (not all at once, as eventlet's do).
        assert 1 <= len(tpool._threads) <= 3  # type: ignore[attr-defined]
    finally:
        tpool.set_num_threads(before)


def test_tpool_setup_is_accepted() -> None:
    tpool.setup()
    assert tpool.execute(lambda: 7) == 7


def test_green_thread_lock_is_its_lock_type() -> None:
    lock = gthread.Lock()
    assert isinstance(lock, gthread.LockType)
    with pytest.raises(RuntimeError, match="release unlocked lock"):
        lock.release()


# -- tpool.Proxy: attribute set and delete go to the wrapped object, symmetrically


class Conn:
    def __init__(self) -> None:
        self.data = 1
        self.callback = len

    def method(self) -> str:
        return "real"


def test_mock_patch_object_on_a_proxy_leaves_the_wrapped_object_as_it_was() -> None:
    conn = Conn()
    before = dict(vars(conn))
    proxy = tpool.Proxy(conn)
    with mock.patch.object(proxy, "method", return_value="mocked") as patched:
        assert proxy.method() == "mocked"
        patched.assert_called_once_with()
    with mock.patch.object(proxy, "callback") as patched_callback:
        assert proxy.callback is not None
    with mock.patch.object(proxy, "data", 2):
        assert proxy.data == 2 and conn.data == 2
    assert vars(conn) == before  # no mock, and no proxy wrapper, left behind
    assert proxy.method() == "real"
    assert conn.callback is len
    assert not patched_callback.called


def test_proxy_delattr_deletes_on_the_wrapped_object() -> None:
    conn = Conn()
    proxy = tpool.Proxy(conn)
    proxy.extra = 5
    assert conn.extra == 5  # type: ignore[attr-defined]
    del proxy.extra
    assert not hasattr(conn, "extra")
    with pytest.raises(AttributeError):
        del proxy.missing


# -- GreenPool.coroutines_running counts what occupies the pool ---------------


def test_coroutines_running_lists_spawn_n_threads_before_they_start() -> None:
    pool = greenlane.GreenPool(4)
    ran: list[int] = []
    pool.spawn_n(ran.append, 1)
    gt = pool.spawn(ran.append, 2)
    assert len(pool.coroutines_running) == pool.running() == 2
    assert gt in pool.coroutines_running
    pool.waitall()
    assert ran == [1, 2]
    assert pool.coroutines_running == set() and pool.running() == 0


def test_killing_a_spawn_n_thread_before_it_starts_frees_its_slot() -> None:
    pool = greenlane.GreenPool(1)
    ran: list[int] = []
    pool.spawn_n(ran.append, 1)
    (task,) = pool.coroutines_running
    greenlane.kill(task)
    assert pool.running() == 0 and pool.free() == 1
    assert pool.coroutines_running == set()
    pool.spawn_n(ran.append, 2)
    pool.waitall()
    assert ran == [2]


def test_a_spawn_n_thread_sees_itself_in_coroutines_running() -> None:
    pool = greenlane.GreenPool()
    seen: list[bool] = []
    pool.spawn_n(lambda: seen.append(greenlane.getcurrent() in pool.coroutines_running))
    pool.waitall()
    assert seen == [True]


# -- greenio.GreenSocket(existing socket) --------------------------------------


def test_greensocket_takes_over_a_stdlib_socket() -> None:
    a, b = socket.socketpair()
    a.settimeout(5.0)
    with b:
        green = greenio.GreenSocket(a)
        with green:
            assert a.fileno() == -1  # detached: dropping it cannot close the fd under the green socket
            assert (green.family, green.type, green.gettimeout()) == (socket.AF_UNIX, socket.SOCK_STREAM, 5.0)
            reader = greenlane.spawn(green.recv, 5)
            greenlane.sleep(0)
            assert not reader.dead  # parked on the hub, not blocking the OS thread
            b.sendall(b"hello")
            assert reader.wait() == b"hello"


def test_greensocket_takes_over_a_green_socket() -> None:
    a, b = gsocket.socketpair()
    with b, greenio.GreenSocket(a) as again:
        assert a.fileno() == -1
        b.sendall(b"x")
        assert again.recv(1) == b"x"


def test_greensocket_of_something_else_names_it() -> None:
    with pytest.raises(TypeError, match="'not a socket'"):
        greenio.GreenSocket("not a socket")  # type: ignore[arg-type]


# -- patcher.already_patched (a patching scenario: its own interpreter) -------


def test_already_patched_lists_the_patched_keywords() -> None:
    proc = run_script(
        """
        from greenlane import patcher
        print(sorted(patcher.already_patched))
        patcher.monkey_patch(socket=True, select=True)
        print(sorted(patcher.already_patched))
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["[]", "['select', 'socket']"]


def test_no_deprecation_warning_on_plain_import() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert greenlane.call_after_global is greenthread.call_after_global


# -- green.profile ----------------------------------------------------------------


def _switching_work() -> None:
    def work() -> None:
        for _ in range(3):
            greenlane.sleep(0)
            sum(range(10))

    for gt in [greenlane.spawn(work) for _ in range(3)]:
        gt.wait()


def test_green_profile_counts_calls_across_green_thread_switches() -> None:
    # (the stdlib's profiler fails an assertion on the first switch: "Bad call" or "Bad return")
    from greenlane.green import profile

    gc.collect()  # an earlier test's garbage finalised under the profiler would trip it
    prof = profile.Profile()
    prof.runcall(_switching_work)
    prof.create_stats()
    calls = {name: counts[0] for (_file, _line, name), counts in prof.stats.items()}  # type: ignore[attr-defined]
    assert calls["work"] == 3
    assert calls["sum"] == 9


def test_green_profile_start_stop_and_runctx() -> None:
    from greenlane.green import profile

    prof = profile.Profile()
    prof.start()
    _switching_work()
    prof.stop()
    prof.create_stats()
    assert any(name == "work" for _file, _line, name in prof.stats)  # type: ignore[attr-defined]
    result = profile.Profile().runctx("greenlane.sleep()", {"greenlane": greenlane}, {})
    assert ("profile", 0, "greenlane.sleep()") in result.timings  # type: ignore[attr-defined]


def test_event_poll_exception_and_poll_result() -> None:
    event: greenlane.Event[int] = greenlane.Event()
    assert event.poll_result("no") == "no" and event.poll_exception("no") == "no"
    event.send(5)
    assert event.poll_result() == 5 and event.poll_exception("no") == "no"
    failed: greenlane.Event[int] = greenlane.Event()
    failed.send_exception(ValueError("bad"))
    assert failed.poll_result("no") == "no"
    with pytest.raises(ValueError, match="bad"):
        failed.poll_exception()


def test_import_patched_copies_the_packages_own_submodules(tmp_path: Any) -> None:
    package = tmp_path / "pkg_under_test"
    package.mkdir()
    (package / "__init__.py").write_text("from .sub import which_socket\nfrom . import other\n")
    (package / "sub.py").write_text("import socket\n\ndef which_socket():\n    return socket\n")
    (package / "other.py").write_text("import time\n")
    proc = run_script(
        f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        import greenlane, greenlane.green.socket, greenlane.green.time, socket, time
        import pkg_under_test
        patched = greenlane.import_patched("pkg_under_test")
        print(patched.which_socket() is greenlane.green.socket)
        print(patched.other.time is greenlane.green.time)
        print(pkg_under_test.which_socket() is socket, pkg_under_test.other.time is time)
        print(sys.modules["pkg_under_test.sub"] is pkg_under_test.sub)
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "True", "True", "True", "True"]
