"""The asyncio hub survives what the native one does: fork, OS threads, tpool, signals, a virtual clock.

Each test makes this thread's hub the asyncio one driving asyncio's default
loop (``use_hub("asyncio")``), and where a coroutine is involved, also
attached to a running ``asyncio.run`` loop.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Iterator

import pytest

import greenlane
from greenlane import asyncio as ga
from greenlane import hubs, tpool
from greenlane._core import reset_thread_hub
from greenlane.hubs import asyncio as asyncio_hub
from greenlane.testing import virtual_time
from helpers import run_script


@pytest.fixture(autouse=True)
def _asyncio_hub() -> Iterator[None]:
    hubs.use_hub("asyncio")
    try:
        yield
    finally:
        reset_thread_hub()
        hubs.use_hub(None)


def test_use_hub_asyncio_makes_the_asyncio_hub() -> None:
    hub = hubs.get_hub()
    assert isinstance(hub, asyncio_hub.Hub)
    assert hub.poller_name == "asyncio"
    assert not hub.attached
    hubs.use_hub("poll")
    assert not isinstance(hubs.get_hub(), asyncio_hub.Hub)
    hubs.use_hub(asyncio_hub)
    assert isinstance(hubs.get_hub(), asyncio_hub.Hub)
    hubs.use_hub(asyncio_hub.Hub)
    assert isinstance(hubs.get_hub(), asyncio_hub.Hub)


def test_the_driven_loop_is_what_the_factory_made() -> None:
    made: list[asyncio.AbstractEventLoop] = []

    def factory() -> asyncio.AbstractEventLoop:
        made.append(asyncio.new_event_loop())
        return made[-1]

    hubs.use_hub("asyncio", loop_factory=factory)
    assert ga.await_(asyncio.sleep(0, result="ran")) == "ran"
    assert hubs.get_hub().loop is made[0]  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match="loop_factory must be callable"):
        hubs.use_hub("asyncio", loop_factory=42)  # type: ignore[arg-type]


def test_green_threads_in_several_os_threads_each_on_its_own_loop() -> None:
    results: dict[int, object] = {}

    def os_thread(n: int) -> None:
        hubs.use_hub("asyncio")
        try:
            gts = [greenlane.spawn(ga.await_, asyncio.sleep(0, result=n * 10 + i)) for i in range(3)]
            results[n] = ([gt.wait() for gt in gts], isinstance(hubs.get_hub(), asyncio_hub.Hub))
        finally:
            reset_thread_hub()

    threads = [threading.Thread(target=os_thread, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {n: ([n * 10, n * 10 + 1, n * 10 + 2], True) for n in range(3)}


def test_tpool_from_green_code_and_from_a_coroutine() -> None:
    hubs.get_hub()  # tpool runs calls inline in a thread without a hub
    assert tpool.execute(threading.get_ident) != threading.get_ident()

    async def main() -> int:
        return await ga.green(tpool.execute, sum, [1, 2, 3])

    reset_thread_hub()
    assert asyncio.run(main()) == 6


def test_a_cross_thread_call_wakes_the_sleeping_loop() -> None:
    done = greenlane.Event()
    hub = hubs.get_hub()
    t = threading.Thread(target=hub.call_soon_threadsafe, args=(done.send, "from a thread"))
    t.start()
    assert done.wait() == "from a thread"
    t.join()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_the_hub_survives_fork() -> None:
    before = ga.await_(asyncio.sleep(0, result="parent"))
    keeper = greenlane.spawn(greenlane.sleep, 0.001)  # a timer pending across the fork
    pid = os.fork()
    if pid == 0:  # the child: green threads, timers and await_ on a fresh loop
        try:
            keeper.wait()
            ok = ga.await_(asyncio.sleep(0.001, result=7)) == 7
            ok = ok and greenlane.spawn(lambda: 3).wait() == 3
            os._exit(0 if ok else 1)
        except BaseException:
            os._exit(2)
    keeper.wait()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert before == "parent"
    assert ga.await_(asyncio.sleep(0, result="still")) == "still"


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="needs SIGUSR1")
def test_a_signal_handler_wakes_a_parked_green_thread() -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach the main thread only")
    got = greenlane.Event()
    previous = signal.signal(signal.SIGUSR1, lambda *_: got.send("signal"))
    try:
        child = os.fork()  # another process sends it: no thread, timer or fd of ours pending
        if child == 0:
            os.kill(os.getppid(), signal.SIGUSR1)
            os._exit(0)
        assert got.wait(timeout=30) == "signal"
        os.waitpid(child, 0)
    finally:
        signal.signal(signal.SIGUSR1, previous)


def test_the_virtual_clock_runs_the_asyncio_hub() -> None:
    with virtual_time() as clock:
        assert isinstance(hubs.get_hub(), asyncio_hub.Hub)
        order: list[str] = []
        greenlane.spawn_after(600, order.append, "ten minutes")
        greenlane.spawn_after(60, order.append, "one minute")
        greenlane.sleep(3600)
        assert order == ["one minute", "ten minutes"]
        assert clock.now() == pytest.approx(3600)


def test_a_deadlock_in_the_main_green_thread_is_reported() -> None:
    if threading.active_count() > 1:
        pytest.skip("another OS thread could still wake it")
    with pytest.raises(greenlane.DeadlockError if hasattr(greenlane, "DeadlockError") else Exception):
        greenlane.Event().wait()


def test_asyncio_run_after_green_code_closes_the_idle_hub() -> None:
    greenlane.sleep(0)  # the hub has started driving its own loop

    async def main() -> bool:
        await ga.green(greenlane.sleep, 0)
        return hubs.get_hub().attached  # type: ignore[attr-defined,no-any-return]

    assert asyncio.run(main())
    greenlane.sleep(0)  # and green code still runs afterwards (on a loop of its own again)


def test_in_a_fresh_interpreter_asyncio_run_needs_no_setup() -> None:
    proc = run_script(
        """
        import asyncio, greenlane
        from greenlane import hubs
        from greenlane.asyncio import await_, green

        def blocking():
            greenlane.sleep(0.001)
            return await_(asyncio.sleep(0, result="crossed"))

        async def main():
            value = await green(blocking)
            return value, isinstance(hubs.get_hub(), hubs.asyncio.Hub), hubs.get_hub().attached

        print(asyncio.run(main()))
        """
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "('crossed', True, True)"


def test_monkey_patch_then_the_asyncio_hub_is_refused_naming_the_fix() -> None:
    proc = run_script(
        """
        import greenlane
        greenlane.monkey_patch()
        try:
            greenlane.sleep(0.001)
        except RuntimeError as exc:
            print(exc)
        """,
        env={"GREENLANE_HUB": "asyncio"},
    )
    assert "cannot run after greenlane.monkey_patch()" in proc.stdout + proc.stderr
    assert "GREENLANE_HUB=epoll" in proc.stdout + proc.stderr
