"""oslo.service's periodic tasks: methods run every ``spacing`` seconds by ``run_periodic_tasks``.

A service marks methods with ``@periodic_task(spacing=...)`` on a
``PeriodicTasks`` subclass and calls ``run_periodic_tasks(context)`` from a
loop; it runs the tasks that are due and returns how long the caller may
idle before the next one is. The usual driver is a dynamic timer::

    tg.add_dynamic_timer(service.run_periodic_tasks, initial_delay=None,
                         periodic_interval_max=60, context=ctx)

Time is read through the module-level ``now()`` (the hub's clock: monotonic,
virtual in tests); tests may patch it, as oslo's patch theirs. A due task's
next run is kept on its grid (``last run + n * spacing``, plus up to 5 %
jitter for spacings of 20 s and more, so many services' tasks drift apart).

Differences from oslo.service: the decorator reads no clock, so a task
without ``run_immediately`` first runs ``spacing`` seconds after the
``PeriodicTasks`` object is created (or the task added), not after the
decorator ran at import; ``add_periodic_task`` adds to this object only (oslo
added to the class, and other objects of it then failed with ``KeyError``);
a task's ``Exception`` is logged (or raised with ``raise_on_error``) but a
kill or ``KeyboardInterrupt`` is never swallowed; ``conf`` is optional and
duck-typed, so oslo.config is not needed.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TypeVar, overload

from ._core import check_timeout
from .greenthread import sleep
from .hubs import get_hub

__all__ = [
    "DEFAULT_INTERVAL",
    "InvalidPeriodicTaskArg",
    "PeriodicTasks",
    "list_opts",
    "now",
    "periodic_task",
]

F = TypeVar("F", bound=Callable[..., Any])

LOG = logging.getLogger("greenlane.periodic_task")

# oslo's: the spacing of a task declared with spacing=0, and the longest idle
# run_periodic_tasks reports, so newly added tasks are looked at within a minute.
DEFAULT_INTERVAL: Final = 60.0

# The most jitter added to a task's next run, as a fraction of its spacing (oslo's 5 %).
MAX_JITTER_FRACTION: Final = 1 / 20


def now() -> float:
    """The time periodic tasks are scheduled by: the hub's clock (patch this in tests)."""
    return get_hub().clock()


class InvalidPeriodicTaskArg(TypeError):
    """``periodic_task`` was given an argument it does not know (oslo's old ``ticks_between_runs``...)."""

    def __init__(self, arg: str) -> None:
        super().__init__(f"Unexpected argument for periodic task creation: {arg}.")
        self.arg = arg


@dataclass(frozen=True)
class PeriodicOpt:
    """A configuration option periodic tasks read, given to ``conf.register_opts`` without oslo.config."""

    name: str
    default: bool
    help: str


_RUN_EXTERNAL = PeriodicOpt(
    "run_external_periodic_tasks",
    True,
    "Some periodic tasks can be run in a separate process. Should we run them here?",
)


def list_opts() -> list[tuple[None, list[Any]]]:
    """The options ``PeriodicTasks`` registers (oslo.config ``Opt`` objects when it is installed)."""
    return [(None, _periodic_opts())]


def _periodic_opts() -> list[Any]:
    try:
        from oslo_config import cfg  # type: ignore[import-not-found]
    except ImportError:
        return [_RUN_EXTERNAL]
    return [cfg.BoolOpt(_RUN_EXTERNAL.name, default=_RUN_EXTERNAL.default, help=_RUN_EXTERNAL.help)]


_OPTIONS: Final = ("spacing", "run_immediately", "external_process_ok", "enabled", "name")


@overload
def periodic_task(f: F, /) -> F: ...
@overload
def periodic_task(
    *,
    spacing: float = 0,
    run_immediately: bool = False,
    external_process_ok: bool = False,
    enabled: bool = True,
    name: str | None = None,
) -> Callable[[F], F]: ...
def periodic_task(f: Any = None, /, **options: Any) -> Any:
    """Mark a method as a periodic task: ``@periodic_task`` or ``@periodic_task(spacing=N, ...)``.

    ``spacing``: seconds between runs (0: ``DEFAULT_INTERVAL``; negative:
    never run). ``run_immediately``: first run on the first
    ``run_periodic_tasks`` instead of ``spacing`` seconds in.
    ``external_process_ok``: skipped when ``conf.run_external_periodic_tasks``
    is false. ``enabled=False``: never run. ``name``: the task's name
    (default: the function's).
    """
    for arg in options:
        if arg not in _OPTIONS:
            raise InvalidPeriodicTaskArg(arg)
    if "spacing" in options:
        check_timeout(options["spacing"], "periodic_task spacing")  # negative: never run

    def decorator(func: F) -> F:
        task: Any = func
        task._periodic_task = True
        task._periodic_external_ok = options.get("external_process_ok", False)
        task._periodic_enabled = options.get("enabled", True)
        task._periodic_name = options.get("name") or func.__name__
        task._periodic_spacing = options.get("spacing", 0)
        task._periodic_immediate = options.get("run_immediately", False)
        task._periodic_last_run = None  # stamped by each PeriodicTasks object (see the module doc)
        return func

    if f is None:
        return decorator
    if not callable(f):
        raise InvalidPeriodicTaskArg(f"positional {f!r} (options are keywords: spacing=...)")
    return decorator(f)


def _nearest_boundary(last_run: float | None, spacing: float) -> float:
    """The latest ``last_run + n * spacing`` not after now, plus up to 5 % of spacing (whole seconds).

    ``None`` (never ran) gives now. E.g. last run 10, spacing 7, now 19: 17.
    """
    current_time = now()
    if last_run is None:
        return current_time
    offset = (current_time - last_run) % spacing
    jitter = int(spacing * random.random() * MAX_JITTER_FRACTION)  # whole seconds: none below 20 s
    return current_time - offset + jitter


class _PeriodicTasksMeta(type):
    """Collects a class's periodic tasks (its own and its bases') when the class is created."""

    _periodic_tasks: list[tuple[str, Any]]
    _periodic_spacing: dict[str, float]

    def __init__(cls, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> None:
        super().__init__(name, bases, namespace)
        # A subclass copies its base's lists so it never adds to them.
        cls._periodic_tasks = list(getattr(cls, "_periodic_tasks", []))
        cls._periodic_spacing = dict(getattr(cls, "_periodic_spacing", {}))
        for value in namespace.values():
            if getattr(value, "_periodic_task", False):
                _register(cls._periodic_tasks, cls._periodic_spacing, value)


def _register(tasks: list[tuple[str, Any]], spacings: dict[str, float], task: Any) -> bool:
    """Add a decorated task to ``tasks``; False (and logged) if it is disabled."""
    name = task._periodic_name
    if task._periodic_spacing < 0:
        LOG.info("Skipping periodic task %(task)s because its interval is negative", {"task": name})
        return False
    if not task._periodic_enabled:
        LOG.info("Skipping periodic task %(task)s because it is disabled", {"task": name})
        return False
    if task._periodic_spacing == 0:  # 0 means "the default", not "as often as possible"
        task._periodic_spacing = DEFAULT_INTERVAL
    tasks.append((name, task))
    spacings[name] = task._periodic_spacing
    return True


class PeriodicTasks(metaclass=_PeriodicTasksMeta):
    """Base of a service with ``@periodic_task`` methods; ``run_periodic_tasks`` runs the due ones.

    ``conf`` (optional, duck-typed): ``conf.register_opts(opts)`` is called if
    it exists, and ``conf.run_external_periodic_tasks`` (default True) decides
    whether tasks marked ``external_process_ok`` run here.
    """

    _periodic_tasks: list[tuple[str, Any]]
    _periodic_spacing: dict[str, float]

    def __init__(self, conf: Any = None) -> None:
        super().__init__()
        self.conf = conf
        register = getattr(conf, "register_opts", None)
        if register is not None:
            register(_periodic_opts())
        # This object's own copies: add_periodic_task must not change the class.
        self._periodic_tasks = list(type(self)._periodic_tasks)
        self._periodic_spacing = dict(type(self)._periodic_spacing)
        start = now()
        self._periodic_last_run: dict[str, float | None] = {
            name: None if task._periodic_immediate else start for name, task in self._periodic_tasks
        }

    def add_periodic_task(self, task: Callable[..., Any]) -> None:
        """Add a function decorated with ``@periodic_task`` (called as ``task(self, context)``)."""
        if not getattr(task, "_periodic_task", False):
            raise TypeError(f"{task!r} is not decorated with @periodic_task")
        if _register(self._periodic_tasks, self._periodic_spacing, task):
            immediate = task._periodic_immediate  # type: ignore[attr-defined]
            self._periodic_last_run[task._periodic_name] = None if immediate else now()  # type: ignore[attr-defined]

    def _run_external(self) -> bool:
        return bool(getattr(self.conf, "run_external_periodic_tasks", True))

    def run_periodic_tasks(self, context: Any, raise_on_error: bool = False) -> float:
        """Run the tasks that are due; return the seconds until the next is due (at most 60).

        A task's ``Exception`` is logged and the others still run, unless
        ``raise_on_error``, which raises it.
        """
        idle_for = DEFAULT_INTERVAL
        cls_name = type(self).__name__
        for task_name, task in self._periodic_tasks:
            if task._periodic_external_ok and not self._run_external():
                continue
            spacing = self._periodic_spacing[task_name]
            last_run = self._periodic_last_run[task_name]
            idle_for = min(idle_for, spacing)
            if last_run is not None:
                delta = last_run + spacing - now()
                if delta > 0:
                    idle_for = min(idle_for, delta)
                    continue
            full_task_name = f"{cls_name}.{task_name}"
            LOG.debug("Running periodic task %(full_task_name)s", {"full_task_name": full_task_name})
            self._periodic_last_run[task_name] = _nearest_boundary(last_run, spacing)
            try:
                task(self, context)
            except Exception:
                if raise_on_error:
                    raise
                LOG.exception("Error during %(full_task_name)s", {"full_task_name": full_task_name})
            sleep(0)  # let other green threads run between tasks
        return idle_for

    def __repr__(self) -> str:
        names = ", ".join(name for name, _ in self._periodic_tasks)
        return f"<{type(self).__name__} periodic_tasks=[{names}]>"
