"""corolocal.local: attributes per green thread, per-thread __init__, no leaks across tasks or after death."""

from __future__ import annotations

import gc
import threading
import weakref
from typing import Any

import pytest
from greenlet import getcurrent as raw_getcurrent

import greenlane
from greenlane import corolocal
from greenlane.corolocal import local

# Bounds the cross-thread test; it does not time anything.
REAL_WAIT_LIMIT = 10.0


class Box:
    """A weak-referenceable value."""

    def __init__(self, owner: Any = None) -> None:
        self.owner = owner


def test_each_of_100_concurrent_green_threads_sees_its_own_attributes() -> None:
    loc = local()
    loc.value = "main"

    def worker(i: int) -> list[object]:
        seen = [getattr(loc, "value", None)]
        loc.value = i
        for _ in range(3):
            greenlane.sleep(0)  # every other thread writes in between
            seen.append(loc.value)
        loc.value += 1000
        greenlane.sleep(0)
        seen.append(loc.value)
        return seen

    threads = [greenlane.spawn(worker, i) for i in range(100)]
    results = [gt.wait() for gt in threads]
    assert results == [[None, i, i, i, i + 1000] for i in range(100)]
    assert loc.value == "main"


def test_sequential_tasks_on_a_reused_worker_do_not_share() -> None:
    loc = local()
    workers: list[Any] = []

    def first() -> None:
        workers.append(raw_getcurrent())
        loc.secret = "first's"

    def second() -> bool:
        workers.append(raw_getcurrent())
        return hasattr(loc, "secret")

    greenlane.spawn(first).wait()
    assert greenlane.spawn(second).wait() is False
    assert workers[0] is workers[1]  # both ran on the same pooled worker greenlet
    greenlane.spawn_n(first)
    greenlane.sleep(0)
    assert greenlane.spawn(second).wait() is False  # spawn_n tasks are green threads of their own too
    assert not hasattr(loc, "secret")


def test_subclass_init_runs_once_per_green_thread_with_the_constructor_arguments() -> None:
    calls: list[tuple[Any, tuple[Any, ...], dict[str, Any]]] = []

    class Counter(local):
        def __init__(self, start: int, *, step: int) -> None:
            calls.append((greenlane.getcurrent(), (start,), {"step": step}))
            self.count = start
            self.step = step

        def bump(self) -> int:
            self.count += self.step
            return self.count

    counter = Counter(10, step=5)
    main = greenlane.getcurrent()
    assert calls == [(main, (10,), {"step": 5})]
    assert counter.bump() == 15

    def use() -> list[int]:
        return [counter.bump(), counter.bump()]

    threads = [greenlane.spawn(use) for _ in range(3)]
    assert [gt.wait() for gt in threads] == [[15, 20]] * 3
    assert [who for who, _, _ in calls] == [main, *threads]
    assert all((args, kwargs) == ((10,), {"step": 5}) for _, args, kwargs in calls)
    assert counter.count == 15


def test_failed_init_is_retried_on_the_next_access() -> None:
    attempts: list[int] = []

    class Flaky(local):
        def __init__(self) -> None:
            attempts.append(1)
            if len(attempts) == 2:
                raise ValueError("first init in the green thread fails")
            self.ready = True

    flaky = Flaky()

    def use() -> bool:
        with pytest.raises(ValueError):
            flaky.ready  # noqa: B018
        return bool(flaky.ready)

    assert greenlane.spawn(use).wait() is True
    assert len(attempts) == 3


def test_arguments_without_init_are_refused() -> None:
    with pytest.raises(TypeError, match="Initialization arguments are not supported"):
        local(1)
    with pytest.raises(TypeError, match="Initialization arguments are not supported"):
        local(x=1)


def test_data_is_dropped_when_the_green_thread_is_collected() -> None:
    loc = local()

    def keep() -> weakref.ref[Box]:
        box = Box()
        loc.box = box
        loc.me = Box(greenlane.getcurrent())  # a cycle back to the thread: still collectable
        return weakref.ref(box)

    gt = greenlane.spawn(keep)
    ref = gt.wait()
    assert ref() is not None  # the GreenThread handle is alive, so is its data
    del gt
    gc.collect()
    assert ref() is None


def test_data_is_dropped_when_the_local_is_collected() -> None:
    loc = local()
    box = Box()
    loc.box = box
    ref = weakref.ref(box)
    del box
    del loc
    gc.collect()
    assert ref() is None


def test_a_local_kept_only_by_its_own_data_is_collected() -> None:
    # CPython's test_cycle_collection: x -> local -> (this thread's data) -> x.
    class X:
        local: local

    x = X()
    x.local = local()
    x.local.x = x
    ref = weakref.ref(x)
    del x
    gc.collect()
    assert ref() is None


def test_data_of_an_ended_thread_lives_with_its_handle_and_dies_with_the_local() -> None:
    locs = [local()]

    def keep() -> weakref.ref[Box]:
        box = Box()
        locs[0].box = box
        return weakref.ref(box)

    gt = greenlane.spawn(keep)
    ref = gt.wait()
    assert ref() is not None
    del locs[0]
    gc.collect()
    assert ref() is None  # the handle lives on, the local's data does not
    assert gt.dead


def test_class_attributes_descriptors_and_slots() -> None:
    class Fancy(local):
        __slots__ = ("__dict__", "shared")
        kind = "fancy"

        @property
        def doubled(self) -> int:
            return int(self.n) * 2

        @doubled.setter
        def doubled(self, value: int) -> None:
            self.n = value // 2

        @classmethod
        def make(cls) -> str:
            return cls.__name__

        def __getattr__(self, name: str) -> str:
            return f"missing {name}"

    fancy = Fancy()
    fancy.n = 4
    fancy.shared = "everyone"
    assert fancy.kind == "fancy"
    assert fancy.doubled == 8
    fancy.doubled = 20
    assert fancy.n == 10
    assert fancy.make() == "Fancy"
    assert fancy.nothing == "missing nothing"
    assert fancy.__class__ is Fancy
    fancy.kind = "mine"  # an instance attribute shadows a plain class attribute
    assert fancy.kind == "mine" and Fancy.kind == "fancy"

    def other() -> tuple[object, ...]:
        fancy.n = 1
        return fancy.kind, fancy.doubled, fancy.shared, vars(fancy)

    assert greenlane.spawn(other).wait() == ("fancy", 2, "everyone", {"n": 1})
    assert vars(fancy) == {"n": 10, "kind": "mine"}
    del fancy.kind
    assert fancy.kind == "fancy"
    del fancy.n
    assert fancy.n == "missing n"


def test_dict_and_delete_errors() -> None:
    loc = local()
    loc.a = 1
    assert loc.__dict__ == {"a": 1}
    with pytest.raises(AttributeError, match="read-only"):
        loc.__dict__ = {}
    with pytest.raises(AttributeError, match="read-only"):
        del loc.__dict__
    del loc.a
    with pytest.raises(AttributeError, match="'a'"):
        del loc.a
    with pytest.raises(AttributeError, match="'local' object has no attribute 'a'"):
        loc.a  # noqa: B018
    assert "a" not in dir(loc)
    loc.b = 2
    assert "b" in dir(loc)


def test_class_assignment_is_followed() -> None:
    class One(local):
        name = "one"

    class Two(local):
        name = "two"

    obj = One()
    assert obj.name == "one"
    obj.__class__ = Two
    assert obj.name == "two"


def test_native_threads_have_their_own_attributes() -> None:
    loc = local()
    loc.value = "green"
    seen: list[object] = []

    def native() -> None:
        seen.append(getattr(loc, "value", None))
        loc.value = "native"
        seen.append(loc.value)

    thread = threading.Thread(target=native)
    thread.start()
    thread.join(REAL_WAIT_LIMIT)
    assert seen == [None, "native"]
    assert loc.value == "green"


def test_get_ident_and_repr() -> None:
    main = corolocal.get_ident()
    assert main == id(greenlane.getcurrent())
    assert greenlane.spawn(corolocal.get_ident).wait() != main
    loc = local()
    loc.b = 1
    loc.a = 2
    assert repr(loc) == "<local threads=1 attributes=['a', 'b']>"
