"""greenlane.asyncio: every crossing between green threads and coroutines, in the three start orders.

Each scenario is one coroutine, run by the ``start`` fixture in each way a
program can begin, on asyncio's default loop and on uvloop:

- ``run``: ``asyncio.run(scenario())`` with no greenlane setup (the thread has
  no hub: the first greenlane call inside the loop attaches one);
- ``use_hub+run``: ``use_hub("asyncio")`` then ``asyncio.run(scenario())``;
- ``driven``: ``use_hub("asyncio")`` and green code only: the main green thread
  calls ``await_(scenario())`` and greenlane runs the loop.

Synchronisation is on futures, events and green threads' ends, never on time:
the only sleeps are "long" ones that a cancellation or a timeout cuts short.
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
import traceback
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest
from greenlet import GreenletExit

import greenlane
from greenlane import asyncio as ga
from greenlane import hubs
from greenlane._core import reset_thread_hub, set_loop_factory
from greenlane.hubs import asyncio as asyncio_hub

try:
    import uvloop as _uvloop
except ImportError:  # pragma: no cover - the test extra installs it
    _uvloop = None

Scenario = Callable[[], Coroutine[Any, Any, Any]]

LOOPS = ["default", pytest.param("uvloop", marks=pytest.mark.skipif(_uvloop is None, reason="needs uvloop"))]
ORDERS = ["run", "use_hub+run", "driven"]


def _asyncio_run(kind: str, coro: Coroutine[Any, Any, Any]) -> Any:
    if kind == "uvloop":
        assert _uvloop is not None
        return _uvloop.run(coro)
    return asyncio.run(coro)


@pytest.fixture(params=LOOPS)
def loop_kind(request: pytest.FixtureRequest) -> str:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(params=ORDERS)
def start(request: pytest.FixtureRequest, loop_kind: str) -> Iterator[Callable[[Scenario], Any]]:
    order: str = request.param

    def run(scenario: Scenario) -> Any:
        if order == "run":
            hubs.use_hub(None)
            reset_thread_hub()  # no hub at all: nothing set up before the loop
            return _asyncio_run(loop_kind, scenario())
        if order == "use_hub+run":
            hubs.use_hub("asyncio")
            return _asyncio_run(loop_kind, scenario())
        factory = _uvloop.new_event_loop if loop_kind == "uvloop" and _uvloop is not None else None
        hubs.use_hub("asyncio", loop_factory=factory)
        return ga.await_(scenario())

    try:
        yield run
    finally:
        reset_thread_hub()
        set_loop_factory(None)
        hubs.use_hub(None)


def _check_loop(loop_kind: str) -> None:
    """Inside a scenario: the hub is the asyncio hub, on the loop that runs us, of the kind asked for."""
    hub = hubs.get_hub()
    assert isinstance(hub, asyncio_hub.Hub)
    assert hub.loop is asyncio.get_running_loop()
    assert type(hub.loop).__module__.startswith("uvloop") == (loop_kind == "uvloop")


# -- from green code: await_ --------------------------------------------------------------


def test_await_blocks_only_the_calling_green_thread(start: Callable[[Scenario], Any], loop_kind: str) -> None:
    order: list[object] = []

    async def scenario() -> None:
        _check_loop(loop_kind)
        future = asyncio.get_running_loop().create_future()

        def waiter() -> None:
            order.append("waits")
            order.append(("got", ga.await_(future)))

        waiting = ga.green(waiter)
        assert order == ["waits"]  # started at once, now blocked in await_
        await ga.green(order.append, "another green thread ran")
        ticks = await asyncio.gather(asyncio.sleep(0, result=1), asyncio.sleep(0, result=2))
        assert ticks == [1, 2]  # and asyncio tasks ran
        future.set_result(42)
        await waiting
        assert order == ["waits", "another green thread ran", ("got", 42)]

    start(scenario)


def test_await_returns_results_of_coroutines_tasks_and_futures(start: Callable[[Scenario], Any]) -> None:
    async def double(x: int) -> int:
        await asyncio.sleep(0)
        return 2 * x

    def green_side() -> list[int]:
        task = asyncio.get_running_loop().create_task(double(3))
        return [ga.await_(double(1)), ga.await_(task), ga.await_(asyncio.sleep(0, result=9))]

    async def scenario() -> None:
        assert await ga.green(green_side) == [2, 6, 9]

    start(scenario)


def test_await_raises_the_coroutines_exception_with_its_traceback(start: Callable[[Scenario], Any]) -> None:
    async def failing() -> None:
        await asyncio.sleep(0)
        raise KeyError("from the coroutine")

    def green_side() -> str:
        try:
            ga.await_(failing())
        except KeyError as exc:
            return traceback.extract_tb(exc.__traceback__)[-1].name
        return "nothing raised"

    async def scenario() -> None:
        assert await ga.green(green_side) == "failing"

    start(scenario)


def test_killing_a_green_thread_in_await_cancels_the_task(start: Callable[[Scenario], Any]) -> None:
    async def scenario() -> None:
        tasks: list[asyncio.Task[Any]] = []
        running = asyncio.Event()

        async def job() -> None:
            tasks.append(asyncio.current_task())  # type: ignore[arg-type]
            running.set()
            await asyncio.sleep(3600)

        gt = greenlane.spawn(ga.await_, job())
        await running.wait()
        gt.kill()
        await asyncio.wait(tasks)
        assert tasks[0].cancelled()
        with pytest.raises(GreenletExit):
            await gt

    start(scenario)


def test_a_greenlane_timeout_bounds_await(start: Callable[[Scenario], Any]) -> None:
    def green_side() -> str:
        with greenlane.Timeout(0.01, False):
            ga.await_(asyncio.sleep(3600))
            return "not timed out"
        return "timed out"

    async def scenario() -> None:
        assert await ga.green(green_side) == "timed out"

    start(scenario)


def test_contextvars_cross_into_await(start: Callable[[Scenario], Any]) -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")

    async def read() -> str:
        return var.get()

    def green_side() -> str:
        var.set("set in the green thread")
        return ga.await_(read())

    async def scenario() -> None:
        assert await ga.green(green_side) == "set in the green thread"

    start(scenario)


def test_spawn_for_awaitable_runs_the_coroutine_in_a_green_thread(start: Callable[[Scenario], Any]) -> None:
    async def job() -> str:
        await asyncio.sleep(0)
        return "done"

    async def scenario() -> None:
        gt = ga.spawn_for_awaitable(job())
        assert isinstance(gt, greenlane.GreenThread)
        assert await ga.green(gt.wait) == "done"

    start(scenario)


# -- from a coroutine: green() and awaiting a GreenThread ------------------------------


def test_green_starts_at_once_and_gives_the_result(start: Callable[[Scenario], Any]) -> None:
    seen: list[str] = []

    def fn(a: int, *, b: int) -> int:
        seen.append("started")
        greenlane.sleep(0.001)  # a green block: the loop runs meanwhile
        return a + b

    async def scenario() -> None:
        future = ga.green(fn, 1, b=2)
        assert seen == ["started"]
        assert isinstance(future, asyncio.Future)
        assert await future == 3

    start(scenario)


def test_green_raises_the_threads_exception_with_its_traceback(start: Callable[[Scenario], Any]) -> None:
    def failing_green() -> None:
        greenlane.sleep(0)
        raise ValueError("from the green thread")

    async def scenario() -> None:
        with pytest.raises(ValueError, match="from the green thread") as info:
            await ga.green(failing_green)
        names = [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
        assert "failing_green" in names

    start(scenario)


def _sleeper_that_reports_its_kill() -> tuple[asyncio.Future[bool], Callable[[], None]]:
    """A green function sleeping an hour, and a Future it resolves when it is killed."""
    killed: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def long() -> None:
        try:
            greenlane.sleep(3600)
        except GreenletExit:
            killed.set_result(True)
            raise

    return killed, long


def test_cancelling_the_future_of_green_kills_the_thread(start: Callable[[Scenario], Any]) -> None:
    async def scenario() -> None:
        killed, long = _sleeper_that_reports_its_kill()

        future = ga.green(long)
        future.cancel()
        assert await killed
        with pytest.raises(asyncio.CancelledError):
            await future

    start(scenario)


def test_cancelling_a_task_awaiting_green_kills_the_thread(start: Callable[[Scenario], Any]) -> None:
    async def scenario() -> None:
        killed, long = _sleeper_that_reports_its_kill()

        async def awaiting() -> None:
            await ga.green(long)

        task = asyncio.ensure_future(awaiting())
        await asyncio.sleep(0)  # one loop turn: the task has started the thread and awaits it
        task.cancel()
        assert await killed
        with pytest.raises(asyncio.CancelledError):
            await task

    start(scenario)


def test_asyncio_timeout_bounds_await_green(start: Callable[[Scenario], Any]) -> None:
    if sys.version_info < (3, 11):
        pytest.skip("asyncio.timeout is new in 3.11")

    async def scenario() -> None:
        killed, long = _sleeper_that_reports_its_kill()

        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.01):
                await ga.green(long)
        assert await killed

    start(scenario)


def test_awaiting_a_green_thread_gives_its_outcome(start: Callable[[Scenario], Any]) -> None:
    async def scenario() -> None:
        ok = greenlane.spawn(lambda: 5)
        assert await ok == 5
        assert await ok == 5  # ended: at once

        def failing() -> None:
            raise OSError("green")

        bad = greenlane.spawn(failing)
        with pytest.raises(OSError, match="green"):
            await bad

    start(scenario)


def test_cancelling_the_awaiter_of_a_green_thread_leaves_it_running(start: Callable[[Scenario], Any]) -> None:
    async def scenario() -> None:
        go = greenlane.Event()
        gt = greenlane.spawn(go.wait)

        async def awaiting() -> Any:
            return await gt

        task = asyncio.ensure_future(awaiting())
        await asyncio.sleep(0)  # one loop turn: the task awaits the thread
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not gt.dead
        go.send("still ran")
        assert await gt == "still ran"

    start(scenario)


def test_contextvars_cross_into_green(start: Callable[[Scenario], Any]) -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")

    async def scenario() -> None:
        var.set("set in the coroutine")
        assert await ga.green(var.get) == "set in the coroutine"

        def change() -> None:
            var.set("changed in the green thread")

        await ga.green(change)
        assert var.get() == "set in the coroutine"  # a copy, as for an asyncio task

    start(scenario)


# -- one loop, one poller ------------------------------------------------------------------


def test_green_sockets_and_asyncio_streams_share_the_loop(start: Callable[[Scenario], Any]) -> None:
    async def scenario() -> None:
        server = greenlane.listen(("127.0.0.1", 0))

        def serve() -> None:
            conn, _ = server.accept()
            with conn:
                data = b""
                while not data.endswith(b"\n"):
                    data += conn.recv(100)
                conn.sendall(data.upper())

        served = ga.green(serve)
        reader, writer = await asyncio.open_connection(*server.getsockname())
        writer.write(b"hello\n")
        await writer.drain()
        assert await reader.readline() == b"HELLO\n"
        writer.close()
        await writer.wait_closed()
        await served
        server.close()

    start(scenario)


def test_asyncio_server_and_green_client(start: Callable[[Scenario], Any]) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write((await reader.readline())[::-1])
        await writer.drain()
        writer.close()

    async def scenario() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]

        def client() -> bytes:
            with greenlane.connect(("127.0.0.1", port)) as sock:
                sock.sendall(b"abc\n")
                return sock.makefile("rb").read()

        assert await ga.green(client) == b"\ncba"
        server.close()
        await server.wait_closed()

    start(scenario)


# -- errors that name the fix -----------------------------------------------------------


def test_asyncio_run_in_a_green_thread_names_await(start: Callable[[Scenario], Any]) -> None:
    async def nothing() -> None:
        pass

    def nested() -> None:
        asyncio.run(nothing())

    async def scenario() -> None:
        with pytest.raises(RuntimeError, match=r"asyncio.run\(\) was called inside a green thread.*await_"):
            await ga.green(nested)

    start(scenario)


def test_a_blocking_call_in_a_coroutine_names_green(start: Callable[[Scenario], Any]) -> None:
    async def scenario() -> None:
        with pytest.raises(RuntimeError, match=r"would block every task.*greenlane.asyncio.green"):
            greenlane.sleep(0.01)
        coro = asyncio.sleep(0)
        with pytest.raises(RuntimeError, match=r"use `await` there"):
            ga.await_(coro)

    start(scenario)


def test_green_outside_a_loop_names_spawn() -> None:
    with pytest.raises(RuntimeError, match=r"greenlane.spawn\(\)"):
        ga.green(print)


def test_await_on_the_native_hub_names_use_hub() -> None:
    hubs.use_hub("poll")
    try:

        async def job() -> None:
            pass

        coro = job()
        with pytest.raises(RuntimeError, match=r"native hub: call greenlane.hubs.use_hub\('asyncio'\)"):
            ga.await_(coro)
        assert coro.cr_frame is None  # closed: no "never awaited" warning
    finally:
        hubs.use_hub(None)
