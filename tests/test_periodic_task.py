"""oslo.service's periodic tasks on the virtual clock: spacing, immediate runs, idle time, errors."""

from __future__ import annotations

import logging
import random
from typing import Any

import pytest

import greenlane
from greenlane import periodic_task
from greenlane.periodic_task import DEFAULT_INTERVAL, InvalidPeriodicTaskArg, PeriodicTasks
from greenlane.testing import VirtualClock
from greenlane.threadgroup import ThreadGroup


@pytest.fixture
def no_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(random, "random", lambda: 0.0)


class Conf:
    """A duck-typed conf: records register_opts, answers run_external_periodic_tasks."""

    def __init__(self, run_external: bool) -> None:
        self.run_external_periodic_tasks = run_external
        self.registered: list[Any] = []

    def register_opts(self, opts: list[Any]) -> None:
        self.registered.extend(opts)


def test_spacing_first_run_is_one_spacing_after_creation(virtual_clock: VirtualClock) -> None:
    runs: list[float] = []

    class Service(PeriodicTasks):
        @periodic_task.periodic_task(spacing=10)
        def tick(self, context: Any) -> None:
            runs.append(virtual_clock.now())

    virtual_clock.advance(100)  # the class (and its decorator) predate the object
    service = Service()
    idles = []
    for _ in range(5):
        idles.append(service.run_periodic_tasks(None))
        greenlane.sleep(5)
    assert runs == [110, 120]
    assert idles == [10, 5, 10, 5, 10]


def test_run_immediately(virtual_clock: VirtualClock) -> None:
    runs: list[tuple[float, Any]] = []

    class Service(PeriodicTasks):
        @periodic_task.periodic_task(spacing=10, run_immediately=True)
        def tick(self, context: Any) -> None:
            runs.append((virtual_clock.now(), context))

    service = Service()
    assert service._periodic_last_run == {"tick": None}
    assert service.run_periodic_tasks("ctx") == 10
    assert service._periodic_last_run == {"tick": 0}
    virtual_clock.advance(5)
    assert service.run_periodic_tasks("ctx") == 5
    virtual_clock.advance(5)
    assert service.run_periodic_tasks("ctx") == 10
    assert runs == [(0, "ctx"), (10, "ctx")]


def test_runs_stay_on_the_grid_when_called_late(virtual_clock: VirtualClock) -> None:
    runs: list[float] = []

    class Service(PeriodicTasks):
        @periodic_task.periodic_task(spacing=10)
        def tick(self, context: Any) -> None:
            runs.append(virtual_clock.now())

    service = Service()
    virtual_clock.advance(13)
    assert service.run_periodic_tasks(None) == 10  # ran at 13; next due at 20
    assert service._periodic_last_run["tick"] == 10
    virtual_clock.advance(4)
    assert service.run_periodic_tasks(None) == pytest.approx(3)
    virtual_clock.advance(25)  # 42: runs once, not once per missed slot
    service.run_periodic_tasks(None)
    assert runs == [13, 42]
    assert service._periodic_last_run["tick"] == 40


def test_default_spacing_and_idle_cap(virtual_clock: VirtualClock, no_jitter: None) -> None:
    class Service(PeriodicTasks):
        @periodic_task.periodic_task
        def default(self, context: Any) -> None:
            pass

        @periodic_task.periodic_task(spacing=200)
        def rare(self, context: Any) -> None:
            pass

    service = Service()
    assert service._periodic_spacing == {"default": DEFAULT_INTERVAL, "rare": 200}
    assert service.run_periodic_tasks(None) == DEFAULT_INTERVAL  # never more than a minute


def test_idle_is_the_time_to_the_nearest_task(virtual_clock: VirtualClock) -> None:
    runs: list[tuple[str, float]] = []

    class Service(PeriodicTasks):
        @periodic_task.periodic_task(spacing=7)
        def seven(self, context: Any) -> None:
            runs.append(("seven", virtual_clock.now()))

        @periodic_task.periodic_task(spacing=11)
        def eleven(self, context: Any) -> None:
            runs.append(("eleven", virtual_clock.now()))

    service = Service()
    schedule: list[float] = []
    while virtual_clock.now() < 30:
        idle = service.run_periodic_tasks(None)
        schedule.append(idle)
        greenlane.sleep(idle)
    assert runs == [("seven", 7), ("eleven", 11), ("seven", 14), ("seven", 21), ("eleven", 22),
                    ("seven", 28)]
    assert schedule == [7, 4, 3, 7, 1, 6, 5]


def test_disabled_and_negative_spacing_tasks_never_run(
    virtual_clock: VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "greenlane.periodic_task")
    ran: list[str] = []

    class Service(PeriodicTasks):
        @periodic_task.periodic_task(spacing=-1, run_immediately=True)
        def negative(self, context: Any) -> None:
            ran.append("negative")

        @periodic_task.periodic_task(enabled=False, run_immediately=True)
        def disabled(self, context: Any) -> None:
            ran.append("disabled")

    service = Service()
    assert service._periodic_tasks == []
    assert service.run_periodic_tasks(None) == DEFAULT_INTERVAL
    assert ran == []
    assert [r.getMessage() for r in caplog.records] == [
        "Skipping periodic task negative because its interval is negative",
        "Skipping periodic task disabled because it is disabled",
    ]


def test_an_error_is_logged_and_the_others_still_run(
    virtual_clock: VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[str] = []

    class Service(PeriodicTasks):
        @periodic_task.periodic_task(spacing=5, run_immediately=True)
        def crash(self, context: Any) -> None:
            ran.append("crash")
            raise OSError("libvirt went away")

        @periodic_task.periodic_task(spacing=5, run_immediately=True)
        def fine(self, context: Any) -> None:
            ran.append("fine")

    service = Service()
    assert service.run_periodic_tasks(None) == 5
    assert ran == ["crash", "fine"]
    (record,) = caplog.records
    assert record.name == "greenlane.periodic_task"
    assert record.getMessage() == "Error during Service.crash"
    assert record.exc_info is not None and isinstance(record.exc_info[1], OSError)
    virtual_clock.advance(5)
    with pytest.raises(OSError, match="libvirt"):
        service.run_periodic_tasks(None, raise_on_error=True)
    assert ran == ["crash", "fine", "crash"]


def test_a_kill_is_not_swallowed(virtual_clock: VirtualClock) -> None:
    class Service(PeriodicTasks):
        @periodic_task.periodic_task(spacing=5, run_immediately=True)
        def stuck(self, context: Any) -> None:
            greenlane.sleep(100)

    service = Service()
    gt = greenlane.spawn(service.run_periodic_tasks, None)
    greenlane.sleep(1)
    gt.kill()
    with pytest.raises(greenlane.GreenletExit):
        gt.wait()


def test_other_green_threads_run_between_tasks(virtual_clock: VirtualClock) -> None:
    order: list[str] = []

    class Service(PeriodicTasks):
        @periodic_task.periodic_task(spacing=5, run_immediately=True)
        def a(self, context: Any) -> None:
            order.append("a")

        @periodic_task.periodic_task(spacing=5, run_immediately=True)
        def b(self, context: Any) -> None:
            order.append("b")

    greenlane.spawn(order.append, "other")
    Service().run_periodic_tasks(None)
    assert order == ["a", "other", "b"]


@pytest.mark.parametrize(("run_external", "expected"), [(True, ["ext"]), (False, [])])
def test_external_process_ok_follows_conf(
    virtual_clock: VirtualClock, run_external: bool, expected: list[str]
) -> None:
    ran: list[str] = []

    class Service(PeriodicTasks):
        @periodic_task.periodic_task(spacing=5, run_immediately=True, external_process_ok=True)
        def ext(self, context: Any) -> None:
            ran.append("ext")

    conf = Conf(run_external)
    service = Service(conf)
    service.run_periodic_tasks(None)
    assert ran == expected
    assert [opt.name for opt in conf.registered] == ["run_external_periodic_tasks"]
    assert conf.registered[0].default is True


def test_conf_is_optional_and_duck_typed(virtual_clock: VirtualClock) -> None:
    ran: list[str] = []

    class Service(PeriodicTasks):
        @periodic_task.periodic_task(spacing=5, run_immediately=True, external_process_ok=True)
        def ext(self, context: Any) -> None:
            ran.append("ext")

    Service(object()).run_periodic_tasks(None)  # no register_opts, no option: runs here
    Service().run_periodic_tasks(None)
    assert ran == ["ext", "ext"]


def test_add_periodic_task_adds_to_this_object_only(virtual_clock: VirtualClock) -> None:
    runs: list[tuple[str, float]] = []

    class Service(PeriodicTasks):
        @periodic_task.periodic_task(spacing=5)
        def own(self, context: Any) -> None:
            runs.append(("own", virtual_clock.now()))

    @periodic_task.periodic_task(spacing=3, name="another-name")
    def extra(service: Service, context: Any) -> None:
        runs.append((context, virtual_clock.now()))

    one, two = Service(), Service()
    virtual_clock.advance(1)
    one.add_periodic_task(extra)
    assert [name for name, _ in one._periodic_tasks] == ["own", "another-name"]
    assert [name for name, _ in two._periodic_tasks] == ["own"]  # oslo changed the class
    assert [name for name, _ in Service._periodic_tasks] == ["own"]
    virtual_clock.advance(4)
    assert one.run_periodic_tasks("extra") == pytest.approx(3)
    assert two.run_periodic_tasks("two") == 5  # oslo: KeyError for the task added to one
    assert runs == [("own", 5), ("extra", 5), ("own", 5)]


def test_add_periodic_task_timing_and_checks(virtual_clock: VirtualClock) -> None:
    runs: list[float] = []

    class Service(PeriodicTasks):
        pass

    @periodic_task.periodic_task(spacing=3, name="another-name")
    def extra(service: Service, context: Any) -> None:
        runs.append(virtual_clock.now())

    @periodic_task.periodic_task(enabled=False)
    def off(service: Service, context: Any) -> None:
        runs.append(-1)

    service = Service()
    virtual_clock.advance(1)
    service.add_periodic_task(extra)  # first due one spacing after being added
    service.add_periodic_task(off)
    assert "off" not in service._periodic_last_run
    while virtual_clock.now() < 8:
        greenlane.sleep(service.run_periodic_tasks(None))
    assert runs == [4, 7]
    with pytest.raises(TypeError, match="not decorated"):
        service.add_periodic_task(lambda s, c: None)


def test_subclasses_inherit_and_do_not_change_their_base(virtual_clock: VirtualClock) -> None:
    class Base(PeriodicTasks):
        @periodic_task.periodic_task(spacing=5)
        def base_task(self, context: Any) -> None:
            pass

    class Child(Base):
        @periodic_task.periodic_task(spacing=4)
        def child_task(self, context: Any) -> None:
            pass

    assert [name for name, _ in Child()._periodic_tasks] == ["base_task", "child_task"]
    assert [name for name, _ in Base()._periodic_tasks] == ["base_task"]
    assert PeriodicTasks()._periodic_tasks == []


def test_decorator_forms_and_attributes() -> None:
    @periodic_task.periodic_task
    def bare(self: Any, context: Any) -> None:
        pass

    @periodic_task.periodic_task()
    def empty(self: Any, context: Any) -> None:
        pass

    @periodic_task.periodic_task(spacing=9, run_immediately=True, external_process_ok=True, name="nine")
    def full(self: Any, context: Any) -> None:
        pass

    attrs = ("_periodic_task", "_periodic_spacing", "_periodic_immediate", "_periodic_external_ok",
             "_periodic_enabled", "_periodic_name")
    assert [getattr(bare, a) for a in attrs] == [True, 0, False, False, True, "bare"]
    assert [getattr(empty, a) for a in attrs] == [True, 0, False, False, True, "empty"]
    assert [getattr(full, a) for a in attrs] == [True, 9, True, True, True, "nine"]


def test_decorator_rejects_unknown_arguments() -> None:
    with pytest.raises(InvalidPeriodicTaskArg, match="ticks_between_runs"):
        periodic_task.periodic_task(ticks_between_runs=5)  # type: ignore[call-overload]
    with pytest.raises(InvalidPeriodicTaskArg, match="positional 10"):
        periodic_task.periodic_task(10)  # type: ignore[call-overload]


def test_nearest_boundary(monkeypatch: pytest.MonkeyPatch) -> None:
    # oslo's own vectors, on a patched now() and random().
    clock = {"now": 0.0}
    monkeypatch.setattr(periodic_task, "now", lambda: clock["now"])
    monkeypatch.setattr(random, "random", lambda: 0.0)
    for current, last, spacing, expected in [(19, 10, 7, 17), (28, 13, 7, 27), (1841, 781, 88, 1837),
                                             (1835, None, 88, 1835)]:
        clock["now"] = current
        assert periodic_task._nearest_boundary(last, spacing) == expected
    clock["now"] = 1300
    monkeypatch.setattr(random, "random", lambda: 1.0)
    assert periodic_task._nearest_boundary(1000, 200) == 1200 + 10  # up to 5 % jitter
    monkeypatch.setattr(random, "random", lambda: 0.5)
    assert periodic_task._nearest_boundary(1000, 200) == 1200 + 5
    assert periodic_task._nearest_boundary(1000, 19) == 1300 - 300 % 19  # whole seconds: none under 20 s


def test_now_is_the_hub_clock_and_patchable(
    virtual_clock: VirtualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    virtual_clock.advance(42)
    assert periodic_task.now() == 42
    runs: list[str] = []

    class Service(PeriodicTasks):
        @periodic_task.periodic_task(spacing=10)
        def tick(self, context: Any) -> None:
            runs.append("tick")

    service = Service()
    monkeypatch.setattr(periodic_task, "now", lambda: 52.0)
    assert service.run_periodic_tasks(None) == 10
    assert runs == ["tick"]


def test_driven_by_a_thread_group_dynamic_timer(virtual_clock: VirtualClock) -> None:
    runs: list[tuple[str, float]] = []

    class Compute(PeriodicTasks):
        @periodic_task.periodic_task(spacing=10, run_immediately=True)
        def update_available_resource(self, context: Any) -> None:
            runs.append((context, virtual_clock.now()))

        @periodic_task.periodic_task(spacing=15)
        def poll_rebooting_instances(self, context: Any) -> None:
            runs.append(("reboots", virtual_clock.now()))

    compute = Compute()
    tg = ThreadGroup()
    tg.add_dynamic_timer_args(compute.run_periodic_tasks, kwargs={"context": "ctx"}, periodic_interval_max=60)
    greenlane.sleep(35)
    tg.stop()
    tg.wait()
    # both due at 30: they run in the order the class declares them
    assert runs == [("ctx", 0), ("ctx", 10), ("reboots", 15), ("ctx", 20), ("ctx", 30), ("reboots", 30)]


def test_repr_lists_tasks() -> None:
    class Service(PeriodicTasks):
        @periodic_task.periodic_task(spacing=1)
        def a(self, context: Any) -> None:
            pass

    assert repr(Service()) == "<Service periodic_tasks=[a]>"
