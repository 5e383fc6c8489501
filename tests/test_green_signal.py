"""greenlane.green.signal used directly: handlers run as green threads, promptly; exceptions reach main."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator

import greenlet
import pytest

import greenlane
from greenlane._core import _wakers
from greenlane.green import signal as gsignal
from greenlane.hubs import get_hub
from greenlane.testing import assert_parked
from helpers import native_hub_only


@pytest.fixture(autouse=True)
def _restore_handlers() -> Iterator[None]:
    saved = {s: signal.getsignal(s) for s in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGINT)}
    yield
    for s, h in saved.items():
        signal.signal(s, h)
    gsignal._handlers.clear()


def test_handler_runs_while_everything_is_parked() -> None:
    ran: list[object] = []
    event = greenlane.Event()

    def handler(signum: int, frame: object) -> None:
        greenlane.sleep(0)  # a handler may switch: it runs in a green thread of its own
        ran.append(greenlane.getcurrent())
        event.send(signum)

    assert gsignal.signal(signal.SIGUSR1, handler) == signal.SIG_DFL
    assert gsignal.getsignal(signal.SIGUSR1) is handler
    assert signal.getsignal(signal.SIGUSR1) is gsignal._trampoline

    sender = threading.Thread(target=os.kill, args=(os.getpid(), signal.SIGUSR1))  # a native thread
    main = greenlet.getcurrent()

    def start_sender() -> None:  # only once the main green thread waits
        assert_parked(main, reason="event")
        sender.start()

    greenlane.spawn(start_sender)
    assert event.wait(timeout=60) == signal.SIGUSR1  # the timeout is a hang guard
    sender.join()
    assert len(ran) == 1
    assert gsignal.signal(signal.SIGUSR1, signal.SIG_IGN) is handler
    assert gsignal.getsignal(signal.SIGUSR1) == signal.SIG_IGN


def test_handler_in_main_green_thread_runs_inline_and_raises_there() -> None:
    class Boom(Exception):
        pass

    def handler(signum: int, frame: object) -> None:
        raise Boom

    gsignal.signal(signal.SIGUSR2, handler)
    with pytest.raises(Boom):
        signal.raise_signal(signal.SIGUSR2)


def test_handler_exception_is_thrown_into_main() -> None:
    class Alarm(Exception):
        pass

    def handler(signum: int, frame: object) -> None:
        raise Alarm

    gsignal.signal(signal.SIGUSR2, handler)
    greenlane.spawn(signal.raise_signal, signal.SIGUSR2)  # arrives in another green thread
    with pytest.raises(Alarm):
        greenlane.sleep(5)


def test_default_sigint_throws_keyboard_interrupt_into_main_and_does_not_count_as_waker() -> None:
    gsignal.signal(signal.SIGINT, signal.default_int_handler)
    assert signal.getsignal(signal.SIGINT) is gsignal._interrupt_main
    assert gsignal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert not _wakers.python_signal_handlers(_wakers._stdlib.get_ident())
    other = greenlane.spawn(signal.raise_signal, signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        greenlane.sleep(5)
    assert other.dead and other.exception() is None  # raised in main, not in the sender


def test_signal_from_a_native_thread_is_refused_like_the_stdlib() -> None:
    errors: list[BaseException] = []

    def install() -> None:
        try:
            gsignal.signal(signal.SIGUSR1, lambda s, f: None)
        except ValueError as exc:
            errors.append(exc)

    t = threading.Thread(target=install)
    t.start()
    t.join(5)
    assert errors and "main thread" in str(errors[0])


def test_an_installed_handler_counts_as_a_waker_for_the_deadlock_check() -> None:
    event = greenlane.Event()
    gsignal.signal(signal.SIGUSR1, lambda signum, frame: event.send("signalled"))
    go_r, go_w = os.pipe()
    child = os.fork()  # another process sends the signal: no thread, timer or fd of ours pending
    if child == 0:
        os.read(go_r, 1)
        os.kill(os.getppid(), signal.SIGUSR1)
        os._exit(0)
    os.close(go_r)
    main = greenlet.getcurrent()

    def let_the_child_signal() -> None:  # once the main green thread waits, with nothing else pending
        assert_parked(main, reason="event")
        os.write(go_w, b"x")

    greenlane.spawn(let_the_child_signal)
    try:
        assert event.wait() == "signalled"  # no timeout: only the pending signal can end this
    finally:
        os.close(go_w)
        os.waitpid(child, 0)
    gsignal.signal(signal.SIGUSR1, signal.SIG_DFL)
    with pytest.raises(greenlane.DeadlockError):
        greenlane.Event().wait()  # and without a handler, the same wait is reported at once


@native_hub_only("it replaces the native poller's poll method")
@pytest.mark.parametrize("handler", ["default SIGINT", "python handler"])
def test_a_handler_run_by_the_hub_just_before_its_poll_sleeps_is_not_late(handler: str) -> None:
    # CPython runs a Python handler at any bytecode boundary of the main thread: here,
    # in the hub, once it has drained the signal's wake-up byte and is about to sleep.
    # What the handler queues must not wait out the poll (a Ctrl-C seen 60 s late).
    hub = get_hub()
    poller = hub.io.poller
    real_poll = poller.poll
    pending = [True]

    def poll_with_a_late_handler(timeout: float | None) -> list[tuple[int, int]]:
        if pending and timeout != 0.0:
            pending.clear()
            if handler == "default SIGINT":
                gsignal._interrupt_main(signal.SIGINT, None)
            else:
                gsignal._trampoline(signal.SIGUSR1, None)
        return real_poll(timeout)

    class Alarm(Exception):
        pass

    def raise_alarm(signum: int, frame: object) -> None:
        raise Alarm

    gsignal.signal(signal.SIGINT, signal.default_int_handler)
    gsignal.signal(signal.SIGUSR1, raise_alarm)
    poller.poll = poll_with_a_late_handler  # type: ignore[method-assign]
    start = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt if handler == "default SIGINT" else Alarm):
            greenlane.sleep(60)
    finally:
        poller.poll = real_poll  # type: ignore[method-assign]
    assert time.monotonic() - start < 30  # at once, not after the poll's 60 s
