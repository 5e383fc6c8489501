"""Several green threads waiting on one fd once ``hub_prevent_multiple_readers(False)`` was called.

eventlet's behaviour, which oslo.log's ``PipeMutex`` depends on: the waiters of
one fd line up, each readiness report wakes the first in line only, and when it
leaves (woken, timed out, killed) the next takes its place; closing the fd
wakes them all. The default stays one waiter per fd.
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
from collections.abc import Iterator

import pytest

import greenlane
from greenlane import debug, hubs
from greenlane.hubs import IOClosed, get_hub
from greenlane.testing import VirtualClock


@pytest.fixture
def shared_fds() -> Iterator[None]:
    debug.hub_prevent_multiple_readers(False)
    try:
        yield
    finally:
        debug.hub_prevent_multiple_readers(True)


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    r, w = os.pipe()
    os.set_blocking(r, False)
    os.set_blocking(w, False)
    try:
        yield r, w
    finally:
        os.close(r)
        os.close(w)


def _settle(until: object, passes: int = 50) -> None:
    """Let the hub run passes until ``until()`` holds (hub state, not time)."""
    for _ in range(passes):
        if until():  # type: ignore[operator]
            return
        greenlane.sleep(0)
    raise AssertionError(f"never reached: {until}")


def _readers_of(fd: int) -> list[str]:
    """The names of the green threads waiting to read ``fd``, in the order they will be woken."""
    return [r.greenlet.task.name for r in get_hub().get_readers() if r.fileno == fd]  # type: ignore[attr-defined]


def _reader(fd: int, got: list[tuple[str, bytes]], name: str, timeout: float | None = None) -> None:
    try:
        hubs.trampoline(fd, read=True, timeout=timeout)
    except greenlane.Timeout:
        got.append((name, b"timeout"))
        return
    got.append((name, os.read(fd, 1)))


def _spawn_readers(fd: int, got: list[tuple[str, bytes]], names: str) -> list[greenlane.GreenThread[None]]:
    threads = []
    for name in names:
        gt = greenlane.spawn(_reader, fd, got, name)
        gt.name = name
        threads.append(gt)
    _settle(lambda: len(_readers_of(fd)) == len(names))
    return threads


def test_a_second_reader_is_refused_by_default(pipe: tuple[int, int]) -> None:
    r, _w = pipe
    first = greenlane.spawn(hubs.trampoline, r, read=True)
    _settle(lambda: len(get_hub().get_readers()) == 1)
    with pytest.raises(RuntimeError, match=rf"fd {r} already has a green thread waiting to read it.*"
                       r"hub_prevent_multiple_readers\(False\)"):
        hubs.trampoline(r, read=True)
    first.kill()


def test_readers_are_woken_one_at_a_time_in_arrival_order(shared_fds: None, pipe: tuple[int, int]) -> None:
    r, w = pipe
    got: list[tuple[str, bytes]] = []
    threads = _spawn_readers(r, got, "abc")
    assert _readers_of(r) == ["a", "b", "c"]
    assert get_hub().statistics().readers == 3
    for i, byte in enumerate((b"1", b"2", b"3")):
        os.write(w, byte)
        _settle(lambda i=i: len(got) == i + 1)
        # Only the first in line was woken; the others still wait, in order.
        assert _readers_of(r) == ["a", "b", "c"][i + 1:]
    assert got == [("a", b"1"), ("b", b"2"), ("c", b"3")]
    for gt in threads:
        gt.wait()


def test_the_next_reader_takes_over_when_the_first_times_out(
    shared_fds: None, virtual_clock: VirtualClock
) -> None:
    r, w = os.pipe()
    try:
        got: list[tuple[str, bytes]] = []
        first = greenlane.spawn(_reader, r, got, "a", 5)
        first.name = "a"
        _settle(lambda: len(_readers_of(r)) == 1)
        second = greenlane.spawn(_reader, r, got, "b")
        second.name = "b"
        _settle(lambda: _readers_of(r) == ["a", "b"])
        virtual_clock.advance(5)
        _settle(lambda: got == [("a", b"timeout")])
        assert _readers_of(r) == ["b"]
        os.write(w, b"x")
        second.wait()
        first.wait()
        assert got == [("a", b"timeout"), ("b", b"x")]
    finally:
        os.close(r)
        os.close(w)


def test_a_reader_behind_the_first_may_time_out_without_disturbing_the_line(
    shared_fds: None, virtual_clock: VirtualClock
) -> None:
    r, w = os.pipe()
    try:
        got: list[tuple[str, bytes]] = []
        for name, timeout in (("a", None), ("b", 5.0), ("c", None)):
            gt = greenlane.spawn(_reader, r, got, name, timeout)
            gt.name = name
            _settle(lambda name=name: _readers_of(r)[-1:] == [name])
        virtual_clock.advance(5)
        _settle(lambda: got == [("b", b"timeout")])
        assert _readers_of(r) == ["a", "c"]
        os.write(w, b"12")
        _settle(lambda: len(got) == 3)
        assert got == [("b", b"timeout"), ("a", b"1"), ("c", b"2")]
    finally:
        os.close(r)
        os.close(w)


def test_the_next_reader_takes_over_when_the_first_is_killed(shared_fds: None, pipe: tuple[int, int]) -> None:
    r, w = pipe
    got: list[tuple[str, bytes]] = []
    a, b, c = _spawn_readers(r, got, "abc")
    b.kill()  # from the middle of the line
    assert _readers_of(r) == ["a", "c"]
    a.kill()  # the head
    assert _readers_of(r) == ["c"]
    os.write(w, b"x")
    c.wait()
    assert got == [("c", b"x")]


def test_a_reader_killed_after_it_was_woken_does_not_lose_the_wake_up(
    shared_fds: None, pipe: tuple[int, int]
) -> None:
    r, w = pipe
    got: list[tuple[str, bytes]] = []
    a, b = _spawn_readers(r, got, "ab")
    os.write(w, b"x")
    # This thread resumes before "a" in the pass that woke it: "a" is woken and
    # has not read, "b" is already the head.
    _settle(lambda: _readers_of(r) == ["b"])
    assert got == []
    a.kill()
    b.wait()
    assert got == [("b", b"x")]


def test_notify_close_wakes_every_waiter_with_ioclosed(shared_fds: None, pipe: tuple[int, int]) -> None:
    r, _w = pipe
    errors: list[tuple[str, int | None]] = []

    def wait(name: str) -> None:
        try:
            hubs.trampoline(r, read=True)
        except IOClosed as exc:
            errors.append((name, exc.errno))

    for name in "abc":
        gt = greenlane.spawn(wait, name)
        gt.name = name
    _settle(lambda: len(_readers_of(r)) == 3)
    hubs.notify_close(r)
    assert get_hub().get_readers() == []
    _settle(lambda: len(errors) == 3)
    assert errors == [("a", errno.EBADF), ("b", errno.EBADF), ("c", errno.EBADF)]
    assert r not in get_hub().io.registered


def test_writers_line_up_too(shared_fds: None, pipe: tuple[int, int]) -> None:
    r, w = pipe
    while True:  # fill the pipe
        try:
            os.write(w, b"x" * 65536)
        except BlockingIOError:
            break
    order: list[str] = []

    def writer(name: str) -> None:
        hubs.trampoline(w, write=True)
        order.append(name)

    threads = []
    for count, name in enumerate("ab", 1):
        threads.append(greenlane.spawn(writer, name))
        _settle(lambda count=count: len(get_hub().get_writers()) == count)
    assert [rec.evtype for rec in get_hub().get_writers()] == ["write", "write"]
    while True:  # drain it
        try:
            os.read(r, 1 << 20)
        except BlockingIOError:
            break
    for gt in threads:
        gt.wait()
    assert order == ["a", "b"]


class PipeMutex:
    """oslo.log's ``PipeMutex``, reduced: a pipe as a lock (read a byte: acquire; write one: release)."""

    def __init__(self) -> None:
        self.rfd, self.wfd = os.pipe()
        fcntl.fcntl(self.rfd, fcntl.F_SETFL, fcntl.fcntl(self.rfd, fcntl.F_GETFL) | os.O_NONBLOCK)
        os.write(self.wfd, b"-")  # start unlocked
        debug.hub_prevent_multiple_readers(False)

    def acquire(self) -> None:
        while True:
            try:
                os.read(self.rfd, 1)
                return
            except BlockingIOError:
                hubs.trampoline(self.rfd, read=True)

    def release(self) -> None:
        os.write(self.wfd, b"X")

    def close(self) -> None:
        os.close(self.rfd)
        os.close(self.wfd)


def _hammer(mutex: PipeMutex, rounds: int, inside: list[int], done: list[int]) -> None:
    for _ in range(rounds):
        mutex.acquire()
        inside.append(1)
        assert len(inside) == 1, "two holders of the mutex at once"
        greenlane.sleep(0)  # hold it across a switch, so the others queue up
        inside.pop()
        mutex.release()
    done.append(1)


def test_pipe_mutex_with_many_green_threads(shared_fds: None) -> None:
    mutex = PipeMutex()
    try:
        inside: list[int] = []
        done: list[int] = []
        with greenlane.Timeout(30):  # a lost wake-up would hang: fail instead
            threads = [greenlane.spawn(_hammer, mutex, 50, inside, done) for _ in range(20)]
            for gt in threads:
                gt.wait()
        assert len(done) == 20
    finally:
        mutex.close()


def test_pipe_mutex_shared_by_green_threads_of_two_os_threads(shared_fds: None) -> None:
    mutex = PipeMutex()
    done: list[int] = []
    inside: list[int] = []
    failures: list[BaseException] = []

    def run_hub() -> None:
        try:
            with greenlane.Timeout(30):
                threads = [greenlane.spawn(_hammer, mutex, 30, inside, done) for _ in range(5)]
                for gt in threads:
                    gt.wait()
        except BaseException as exc:  # reported to the test's thread
            failures.append(exc)

    try:
        others = [threading.Thread(target=run_hub) for _ in range(2)]
        for t in others:
            t.start()
        run_hub()
        for t in others:
            t.join()
        assert failures == []
        assert len(done) == 15
    finally:
        mutex.close()


def test_release_fd_from_another_os_thread_wakes_all_waiters(shared_fds: None, pipe: tuple[int, int]) -> None:
    r, _w = pipe
    errors: list[str] = []

    def wait(name: str) -> None:
        try:
            hubs.trampoline(r, read=True)
        except IOClosed:
            errors.append(name)

    for name in "abc":
        gt = greenlane.spawn(wait, name)
        gt.name = name
    _settle(lambda: len(_readers_of(r)) == 3)
    hub = get_hub()
    closer = threading.Thread(target=hub.release_fd, args=(r,))  # as a close from another OS thread
    closer.start()
    closer.join()
    _settle(lambda: len(errors) == 3)
    assert errors == ["a", "b", "c"]
    assert hub.get_readers() == []


def test_green_socket_readers_share_the_bytes(shared_fds: None) -> None:
    from greenlane.green import socket

    a, b = socket.socketpair()
    try:
        got: dict[str, list[bytes]] = {"x": [], "y": []}

        def reader(name: str) -> None:
            while True:
                data = a.recv(1)
                if not data:
                    return
                got[name].append(data)
                greenlane.sleep(0)  # let the other reader take a turn

        threads = [greenlane.spawn(reader, name) for name in "xy"]
        _settle(lambda: len(get_hub().get_readers()) == 2)
        b.sendall(b"0123456789")
        b.shutdown(socket.SHUT_WR)
        for gt in threads:
            gt.wait()
        assert sorted(got["x"] + got["y"]) == [bytes([c]) for c in b"0123456789"]
        assert got["x"] and got["y"]  # both were served
    finally:
        a.close()
        b.close()
