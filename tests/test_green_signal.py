"""greenlane.green.signal used directly: handlers run as green threads, promptly; exceptions reach main."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator

import greenlet
import pytest

import greenlane
from greenlane._core import _wakers
from greenlane.green import signal as gsignal
from greenlane.testing import assert_parked


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
