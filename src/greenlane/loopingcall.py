"""oslo.service's looping calls: run a function again and again in a green thread.

Code moving from ``oslo_service.loopingcall`` changes only the import::

    timer = loopingcall.FixedIntervalLoopingCall(_wait_for_reboot)
    timer.start(interval=0.5).wait()   # until _wait_for_reboot raises LoopingCallDone

How it is built, and why:

- **One way to sleep.** Every sleep of a loop (the initial delay included)
  goes through ``LoopingCallBase._sleep(timeout)``, which waits on the call's
  stop event with that timeout. ``stop()`` sends the event, so a loop asleep
  for an hour ends at once, and a test that patches ``_sleep`` (as oslo's and
  its users' tests do) sees the whole schedule. Patching
  ``greenthread.sleep`` does not intercept a loop's sleeps.
- **One clock.** Run times and timeouts are read from the hub's clock
  (``get_hub().clock()``, monotonic; the ``VirtualClock`` in tests), through
  ``_elapsed(watch)``, which tests may patch as in oslo. So schedules on the
  virtual clock are exact, and a wall-clock jump cannot fire a timeout.
- **One outcome.** ``start()`` returns ``done``, an ``Event``: ``wait()``
  gives ``LoopingCallDone.retvalue``, ``True`` after ``stop()``, or raises
  what the function (or the schedule) raised. A loop killed from outside
  sends its exit to ``done`` too, so a waiter never hangs.
- **Bad schedules fail where they are used.** An interval, delay or timeout
  that is not a number is accepted by ``start()`` (as oslo accepts it) and
  fails inside the loop with a ``TypeError`` that names the value, delivered
  through ``wait()``.

Differences from oslo.service, each a fix: ``RetryDecorator`` resets its
counters at the start of each call; a ``DynamicLoopingCall`` whose function
keeps failing under ``stop_on_exception=False`` still sleeps between runs;
``FixedIntervalWithTimeoutLoopingCall`` times out on the monotonic clock;
``wait()`` before ``start()`` raises a clear ``RuntimeError``.
"""

from __future__ import annotations

import functools
import logging
import math
import random
from collections.abc import Callable
from typing import Any, ClassVar, Final, ParamSpec, TypeVar, cast

from ._core import check_timeout
from .event import Event
from .greenthread import GreenThread, spawn
from .hubs import get_hub

__all__ = [
    "BackOffLoopingCall",
    "DynamicLoopingCall",
    "FixedIntervalLoopingCall",
    "FixedIntervalWithTimeoutLoopingCall",
    "LoopingCallBase",
    "LoopingCallDone",
    "LoopingCallTimeOut",
    "RetryDecorator",
]

P = ParamSpec("P")
T = TypeVar("T")

LOG = logging.getLogger("greenlane.loopingcall")

# A DynamicLoopingCall run that failed (stop_on_exception=False) suggested no
# delay. With periodic_interval_max it sleeps that (oslo's delay for a run that
# returns None); without, this long, instead of oslo's 0, which spins the hub
# and floods the log with one traceback per pass.
FAILED_RUN_DELAY: Final = 1.0


class LoopingCallDone(Exception):
    """Raised by the looped function to end the loop; ``wait()`` then returns ``retvalue``."""

    def __init__(self, retvalue: Any = True) -> None:
        super().__init__(retvalue)
        self.retvalue = retvalue


class LoopingCallTimeOut(Exception):
    """A looping call ran out of its ``timeout``; raised by ``wait()``."""


def _now() -> float:
    return get_hub().clock()


def _callable_name(f: object) -> str:
    """``module.qualname`` of a callable, as oslo's log messages name it."""
    name = getattr(f, "__qualname__", None) or getattr(f, "__name__", None) or type(f).__qualname__
    module = getattr(f, "__module__", None)
    return f"{module}.{name}" if module else str(name)


def _seconds(value: object, what: str, owner: LoopingCallBase) -> float:
    """``value`` as seconds, or a TypeError/ValueError naming it (raised inside the loop)."""
    if value.__class__ is int or (value.__class__ is float and not math.isnan(value)):
        return float(value)
    return float(check_timeout(value, f"{type(owner).__name__} of {_callable_name(owner.f)}: {what}"))


class _StopWatch:
    """Elapsed time on the hub's clock: what ``LoopingCallBase._elapsed`` is given."""

    __slots__ = ("_started", "_stopped")

    def __init__(self) -> None:
        self._started = _now()
        self._stopped: float | None = None

    def restart(self) -> _StopWatch:
        """Start timing again from now."""
        self._started = _now()
        self._stopped = None
        return self

    def stop(self) -> _StopWatch:
        """Freeze the elapsed time."""
        self._stopped = _now()
        return self

    def elapsed(self) -> float:
        """Seconds from the (re)start to the stop, or to now if still running."""
        end = _now() if self._stopped is None else self._stopped
        return max(0.0, end - self._started)

    def __repr__(self) -> str:
        state = "running" if self._stopped is None else "stopped"
        return f"<_StopWatch {state} elapsed={self.elapsed():.3f}>"


class LoopingCallBase:
    """The loop shared by every looping call: call ``f(*args, **kw)``, sleep, repeat.

    Subclasses decide how long to sleep after each run (``_start``'s
    ``idle_for``). ``args`` and ``kw`` are the function's arguments and may
    be changed between runs.
    """

    _KIND: ClassVar[str] = "Unknown looping call"
    _RUN_ONLY_ONE_MESSAGE: ClassVar[str] = "A looping call can only run one function at a time"

    def __init__(self, f: Callable[..., Any] | None = None, *args: Any, **kw: Any) -> None:
        self.args = args
        self.kw = kw
        self.f = f
        self._thread: GreenThread[None] | None = None
        self.done: Event[Any] | None = None
        self._abort: Event[bool] = Event()
        # True while the last run raised under stop_on_exception=False.
        self._last_run_failed = False

    @property
    def kwargs(self) -> dict[str, Any]:
        """The function's keyword arguments (newer oslo's name for ``kw``)."""
        return self.kw

    @property
    def _running(self) -> bool:
        """False once ``stop()`` was called (until the next ``start()``)."""
        return not self._abort.ready()

    def stop(self) -> None:
        """End the loop: a sleeping loop wakes at once; a run in progress finishes first.

        ``wait()`` then returns True (unless the run in progress ends the loop
        another way).
        """
        if not self._abort.ready():
            self._abort.send(True)

    def wait(self) -> Any:
        """Wait for the loop to end: ``LoopingCallDone.retvalue``, True after ``stop()``, or raise."""
        if self.done is None:
            raise RuntimeError(f"{self!r} was never started: call start() before wait()")
        return self.done.wait()

    def _on_done(self, gt: object, *args: Any, **kwargs: Any) -> None:
        self._thread = None

    def _sleep(self, timeout: float) -> None:
        """The one place a loop sleeps (tests patch it); returns early when ``stop()`` is called."""
        self._abort.wait(timeout)

    def _elapsed(self, watch: _StopWatch) -> float:
        """How long the last run took, in seconds (tests patch it)."""
        return watch.elapsed()

    def _start(
        self,
        idle_for: Callable[[Any, float], float],
        initial_delay: float | None = None,
        stop_on_exception: bool = True,
    ) -> Event[Any]:
        """Spawn the loop; ``idle_for(result, elapsed)`` gives the sleep after each run."""
        if self._thread is not None:
            raise RuntimeError(self._RUN_ONLY_ONE_MESSAGE)
        if not callable(self.f):
            raise TypeError(f"{type(self).__name__} needs a callable to loop on, not {self.f!r}")
        self.done = Event()
        self._abort.reset()
        self._last_run_failed = False
        self._thread = spawn(self._run_loop, idle_for, initial_delay, stop_on_exception)
        self._thread.link(self._on_done)
        return self.done

    def _run_loop(
        self,
        idle_for_func: Callable[[Any, float], float],
        initial_delay: float | None = None,
        stop_on_exception: bool = True,
    ) -> None:
        kind = self._KIND
        func = cast(Callable[..., Any], self.f)
        func_name = _callable_name(func)
        done = self.done
        assert done is not None
        try:
            if initial_delay:
                self._sleep(_seconds(initial_delay, "initial_delay", self))
            watch = _StopWatch()
            while self._running:
                watch.restart()
                try:
                    result = func(*self.args, **self.kw)
                except LoopingCallDone:
                    raise
                except Exception:
                    if stop_on_exception:
                        raise
                    LOG.error("%(kind)s %(func_name)r failed", {"kind": kind, "func_name": func_name},
                              exc_info=True)
                    self._last_run_failed = True
                    result = 0
                else:
                    self._last_run_failed = False
                watch.stop()
                if not self._running:
                    break
                idle = idle_for_func(result, self._elapsed(watch))
                LOG.debug("%(kind)s %(func_name)r sleeping for %(idle).02f seconds",
                          {"func_name": func_name, "idle": idle, "kind": kind})
                self._sleep(idle)
        except LoopingCallDone as exc:
            done.send(exc.retvalue)
        except Exception as exc:
            LOG.error("%(kind)s %(func_name)r failed", {"kind": kind, "func_name": func_name},
                      exc_info=True)
            done.send(exc=exc)
        except BaseException as exc:  # killed: wake the waiters, then end as told
            done.send(exc=exc)
            raise
        else:
            done.send(True)

    def _fixed_idle(self, interval: object, elapsed: float) -> float:
        """Sleep left in the interval after a run of ``elapsed`` seconds; warns on overrun."""
        seconds = _seconds(interval, "interval", self)
        delay = round(elapsed - seconds, 2)
        if delay > 0:
            LOG.warning("Function %(func_name)r run outlasted interval by %(delay).2f sec",
                        {"func_name": _callable_name(self.f), "delay": delay})
            return 0.0
        return -delay

    def __repr__(self) -> str:
        if self._thread is not None:
            state = "running" if self._running else "stopping"
        elif self.done is None:
            state = "not started"
        elif self.done.has_exception():
            try:
                self.done.wait()
            except BaseException as exc:  # the sent exception, re-raised by wait()
                state = f"failed {type(exc).__name__}"
        else:
            state = f"done result={self.done.poll()!r:.40}"
        return f"<{type(self).__name__} {_callable_name(self.f)} {state}>"


class FixedIntervalLoopingCall(LoopingCallBase):
    """Call the function every ``interval`` seconds, counted from the start of each run."""

    _KIND: ClassVar[str] = "Fixed interval looping call"
    _RUN_ONLY_ONE_MESSAGE: ClassVar[str] = "A fixed interval looping call can only run one function at a time"

    def start(
        self, interval: float, initial_delay: float | None = None, stop_on_exception: bool = True
    ) -> Event[Any]:
        """Start looping; a run that overruns ``interval`` is logged and the next starts at once."""

        def _idle_for(result: object, elapsed: float) -> float:
            return self._fixed_idle(interval, elapsed)

        return self._start(_idle_for, initial_delay=initial_delay, stop_on_exception=stop_on_exception)


class FixedIntervalWithTimeoutLoopingCall(LoopingCallBase):
    """A fixed interval call that raises ``LoopingCallTimeOut`` once ``timeout`` seconds have passed.

    The time is checked after each run, from ``start()`` (the initial delay
    included), on the monotonic clock; ``timeout=0`` never times out.
    """

    _KIND: ClassVar[str] = "Fixed interval looping call with timeout checking."
    _RUN_ONLY_ONE_MESSAGE: ClassVar[str] = (
        "A fixed interval looping call with timeout checking and can only run one function at at a time"
    )

    def start(
        self,
        interval: float,
        initial_delay: float | None = None,
        stop_on_exception: bool = True,
        timeout: float = 0,
    ) -> Event[Any]:
        """Start looping; ``wait()`` raises ``LoopingCallTimeOut`` after ``timeout`` seconds."""
        start_time = _now()

        def _idle_for(result: object, elapsed: float) -> float:
            idle = self._fixed_idle(interval, elapsed)
            limit = _seconds(timeout, "timeout", self)
            elapsed_time = _now() - start_time
            if limit > 0 and elapsed_time > limit:
                raise LoopingCallTimeOut(f"Looping call timed out after {elapsed_time:.02f} seconds")
            return idle

        return self._start(_idle_for, initial_delay=initial_delay, stop_on_exception=stop_on_exception)


class DynamicLoopingCall(LoopingCallBase):
    """Call the function again after the number of seconds it returned.

    ``periodic_interval_max`` caps the sleep and is the sleep after a run
    that returned None (without it, None ends the loop with a
    ``RuntimeError``) or, under ``stop_on_exception=False``, raised.
    """

    _KIND: ClassVar[str] = "Dynamic interval looping call"
    _RUN_ONLY_ONE_MESSAGE: ClassVar[str] = (
        "A dynamic interval looping call can only run one function at a time"
    )
    _TASK_MISSING_SLEEP_VALUE_MESSAGE: ClassVar[str] = (
        "A dynamic interval looping call should supply either an interval or periodic_interval_max"
    )

    def start(
        self,
        initial_delay: float | None = None,
        periodic_interval_max: float | None = None,
        stop_on_exception: bool = True,
    ) -> Event[Any]:
        """Start looping; the function's return value is the next sleep."""

        def _idle_for(suggested_delay: object, elapsed: float) -> float:
            cap = None
            if periodic_interval_max is not None:
                cap = _seconds(periodic_interval_max, "periodic_interval_max", self)
            if self._last_run_failed:
                return FAILED_RUN_DELAY if cap is None else cap
            if suggested_delay is None:
                if cap is None:
                    raise RuntimeError(self._TASK_MISSING_SLEEP_VALUE_MESSAGE)
                return cap
            delay = _seconds(suggested_delay, "the delay the function returned", self)
            return delay if cap is None else min(delay, cap)

        return self._start(_idle_for, initial_delay=initial_delay, stop_on_exception=stop_on_exception)


class BackOffLoopingCall(LoopingCallBase):
    """Call the function again and again, backing off while it reports failure.

    The function returns True (success: the next call comes after
    ``starting_interval`` times a jitter), False (failure: the interval
    doubles, times a jitter, within ``min_interval``..``max_interval``), or
    raises ``LoopingCallDone`` to finish. The jitter is
    ``abs(_RNG.gauss(jitter, 0.1))``. When the sleeps since the last success
    would pass ``timeout`` (0: never), ``wait()`` raises ``LoopingCallTimeOut``
    instead of sleeping.
    """

    _RNG: ClassVar[random.Random] = random.SystemRandom()
    _KIND: ClassVar[str] = "Dynamic backoff interval looping call"
    _RUN_ONLY_ONE_MESSAGE: ClassVar[str] = (
        "A dynamic backoff interval looping call can only run one function at a time"
    )

    def __init__(self, f: Callable[..., Any] | None = None, *args: Any, **kw: Any) -> None:
        super().__init__(f, *args, **kw)
        self._error_time: float = 0
        self._interval: float = 1

    def start(  # noqa: PLR0917  # oslo's signature, positional arguments included
        self,
        initial_delay: float | None = None,
        starting_interval: float = 1,
        timeout: float = 300,
        max_interval: float = 300,
        jitter: float = 0.75,
        min_interval: float = 0.001,
    ) -> Event[Any]:
        """Start looping with back-off on failure (see the class docstring)."""
        if self._thread is not None:
            raise RuntimeError(self._RUN_ONLY_ONE_MESSAGE)
        self._error_time = 0
        self._interval = starting_interval

        def _idle_for(success: object, elapsed: float) -> float:
            random_jitter = abs(self._RNG.gauss(jitter, 0.1))
            if success:
                self._interval = starting_interval
                self._error_time = 0
                return self._interval * random_jitter
            # The sleep is jittered; the interval grows by the mean jitter, so
            # the back-off keeps its intended rate whatever the draws were.
            idle = min(max(self._interval * 2 * random_jitter, min_interval), max_interval)
            self._interval = max(self._interval * 2 * jitter, min_interval)
            if timeout > 0 and self._error_time + idle > timeout:
                raise LoopingCallTimeOut(
                    f"Looping call timed out after {self._error_time + idle:.02f} seconds"
                )
            self._error_time += idle
            return idle

        return self._start(_idle_for, initial_delay=initial_delay)


class RetryDecorator:
    """Retry the decorated function while it raises one of ``exceptions``.

    Between tries it sleeps ``inc_sleep_time``, then twice that, three times
    ... up to ``max_sleep_time``. After ``max_retry_count`` retries (-1:
    no limit) the exception is raised to the caller; an exception not in
    ``exceptions`` is raised at once. ``_retry_count`` and ``_sleep_time``
    count from zero at each call and keep the last call's values afterwards
    (oslo kept counting across calls, so a second call retried less).
    """

    def __init__(
        self,
        max_retry_count: int = -1,
        inc_sleep_time: float = 10,
        max_sleep_time: float = 60,
        exceptions: type[BaseException] | tuple[type[BaseException], ...] = (),
    ) -> None:
        self._max_retry_count = max_retry_count
        self._inc_sleep_time = inc_sleep_time
        self._max_sleep_time = max_sleep_time
        self._exceptions = exceptions
        self._retry_count = 0
        self._sleep_time: float = 0

    def __call__(self, f: Callable[P, T]) -> Callable[P, T]:
        """Wrap ``f``: each call runs it in a ``DynamicLoopingCall`` and waits for the outcome."""
        func_name = _callable_name(f)

        @functools.wraps(f)
        def func(*args: P.args, **kwargs: P.kwargs) -> T:
            # Counters live in this call; the attributes mirror them for readers.
            retry_count = 0
            sleep_time: float = 0
            self._retry_count = 0
            self._sleep_time = 0

            def attempt() -> float:
                nonlocal retry_count, sleep_time
                try:
                    if retry_count:
                        LOG.debug("Invoking %(func_name)s; retry count is %(retry_count)d.",
                                  {"func_name": func_name, "retry_count": retry_count})
                    result = f(*args, **kwargs)
                except self._exceptions:
                    LOG.debug("Exception which is in the suggested list of exceptions occurred "
                              "while invoking function: %s.", func_name)
                    if self._max_retry_count != -1 and retry_count >= self._max_retry_count:
                        LOG.debug("Cannot retry %(func_name)s upon suggested exception since retry "
                                  "count (%(retry_count)d) reached max retry count "
                                  "(%(max_retry_count)d).",
                                  {"retry_count": retry_count, "max_retry_count": self._max_retry_count,
                                   "func_name": func_name})
                        raise
                    retry_count += 1
                    sleep_time += self._inc_sleep_time
                    self._retry_count, self._sleep_time = retry_count, sleep_time
                    return sleep_time
                raise LoopingCallDone(result)

            # The loop's log lines name f, not this closure.
            attempt.__module__ = getattr(f, "__module__", None) or __name__
            attempt.__qualname__ = getattr(f, "__qualname__", None) or type(f).__qualname__
            loop = DynamicLoopingCall(attempt)
            done = loop.start(periodic_interval_max=self._max_sleep_time)
            LOG.debug("Waiting for function %s to return.", func_name)
            return cast(T, done.wait())

        return func

    def __repr__(self) -> str:
        return (
            f"<RetryDecorator retries={self._retry_count}/{self._max_retry_count} "
            f"sleep_time={self._sleep_time} exceptions={self._exceptions!r}>"
        )
