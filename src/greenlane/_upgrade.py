"""What existed before ``monkey_patch(thread=True)``: green where it can be made so, named where not.

Locks. A real lock held by one green thread across a switch blocks the whole
OS thread as soon as a second green thread wants it (or, for a real
``RLock``, lets the second one in: it is re-entrant per OS thread). Every
real ``Lock`` and ``RLock`` still alive is therefore swapped for a green one,
by rewriting each reference to it, when that is sound: all its referrers are
dicts or objects' attributes (module globals, ``handler.lock``,
``pool._shutdown_lock``), and it can be taken now (another OS thread holding
it is given a moment, ``HELD_LOCK_PATIENCE``, to let go: a thread that is
logging holds a handler's lock for microseconds). An ``RLock`` held by the
patching thread is handed over with its count. Left alone: greenlane's own
locks and the import system's; locks inside ``threading``'s objects (a
thread's state lock, a ``Condition``'s: its bound methods refer to the lock
and cannot be rewritten; ``threading`` waits on fresh green waiter locks
anyway); and locks referred to by closures, lists or bound methods.

Queues. A C ``queue.SimpleQueue`` made before patching (an executor's work
queue, a module's own) blocks the OS thread in ``get``. Each one still alive
is swapped for a green one, its items moved over in order, under the same
rule as a lock (every referrer a dict or an object's attribute), and only
when no other OS thread but greenlane's own is running: a thread could be
inside its ``get`` (that cannot be asked), and would then wait on a queue
nobody fills any more. A queue left real is named in the warning; should a
green thread then block in its ``get``, the blocking detector reports the
call (``greenlane.debug``).

Named in the warning: OS threads started before patching (they stay OS
threads), module-level locks of non-stdlib modules that could not be
swapped, C ``SimpleQueue``s that could not be, and ``urllib3`` imported
before patching.
"""

from __future__ import annotations

import gc
import logging
import sys
import threading
import warnings
from types import ModuleType
from typing import Any, Final

from ._core import monotonic

__all__ = ["HELD_LOCK_PATIENCE", "MonkeyPatchWarning", "after_thread_patch", "snapshot"]

log = logging.getLogger("greenlane.patcher")

# How long patching waits, in all, for other OS threads to let go of locks it swaps.
HELD_LOCK_PATIENCE: Final = 1.0

# Modules whose locks must stay real: greenlane's own, the import system's, threading's internals.
_KEEP_PREFIXES: Final = ("greenlane", "importlib", "_frozen_importlib", "threading", "_thread", "_pytest")


class MonkeyPatchWarning(RuntimeWarning):
    """Something made before ``monkey_patch()`` could not be made green."""


def snapshot() -> dict[str, Any]:
    """What to compare against after patching ``thread``."""
    return {
        "threads": [t for t in threading.enumerate() if t is not threading.main_thread()],
        "urllib3": "urllib3" in sys.modules,
    }


def after_thread_patch(before: dict[str, Any], real_thread: ModuleType) -> None:
    """Swap the locks that can be swapped; warn (``MonkeyPatchWarning``) naming what cannot."""
    problems: list[str] = []
    threads: list[threading.Thread] = before["threads"]
    if threads:
        names = ", ".join(repr(t.name) for t in threads[:10])
        problems.append(f"{len(threads)} OS thread(s) started before patching stay OS threads: {names}")
    if before["urllib3"]:
        problems.append(
            "urllib3 was imported before patching: connection pools made before now wait on real "
            "locks; call greenlane.monkey_patch() before importing it"
        )
    upgraded, stuck = _upgrade_locks(real_thread)
    _regreen_logging()
    log.debug("patching swapped %d real locks for green ones; %d stay real", upgraded, len(stuck))
    named = sorted(name for name in stuck if name)
    if named:
        shown = ", ".join(named[:10]) + (" ..." if len(named) > 10 else "")
        problems.append(f"lock(s) created before patching and held or shared stay real locks: {shown}")
    swapped, kept = _upgrade_simple_queues()
    log.debug("patching swapped %d C SimpleQueues for green ones; %d stay real", swapped, len(kept))
    if kept:
        shown = ", ".join(sorted(kept)[:10]) + (" ..." if len(kept) > 10 else "")
        problems.append(
            f"{len(kept)} queue.SimpleQueue(s) created before patching stay C queues whose get() blocks "
            f"the OS thread: {shown}"
        )
    if problems:
        warnings.warn(
            "greenlane.monkey_patch() came late: " + "; ".join(problems), MonkeyPatchWarning, stacklevel=3
        )


def _module_of(holder: object) -> str:
    if isinstance(holder, dict):
        name = holder.get("__name__")
        return name if isinstance(name, str) and "__builtins__" in holder else ""
    return str(type(holder).__module__)


def _keep(holder: object) -> bool:
    return _module_of(holder).startswith(_KEEP_PREFIXES)


def _module_level_name(referrers: list[Any], lock: Any) -> str:
    """``module.attr`` if a non-stdlib module holds ``lock`` in a global, else ''."""
    for holder in referrers:
        if isinstance(holder, dict) and "__builtins__" in holder:
            module = str(holder.get("__name__", ""))
            if module.partition(".")[0] in sys.stdlib_module_names:
                continue
            for key, value in holder.items():
                if value is lock:
                    return f"{module}.{key}"
    return ""


def _upgrade_locks(real_thread: ModuleType) -> tuple[int, list[str]]:
    """Swap real locks for green ones (see the module docstring); returns (swapped, names of kept)."""
    from .green.thread import LockType, RLock

    lock_type, rlock_type = type(real_thread.allocate_lock()), type(real_thread.RLock())
    gc.collect()
    found = [obj for obj in gc.get_objects() if type(obj) is lock_type or type(obj) is rlock_type]
    upgraded = 0
    stuck: list[str] = []
    deadline = monotonic() + HELD_LOCK_PATIENCE
    for old in found:
        referrers = [r for r in gc.get_referrers(old) if r is not found]
        if not referrers or any(_keep(r) for r in referrers):
            continue
        reentrant = type(old) is rlock_type
        count = old._recursion_count() if reentrant and old._is_owned() else 0
        rewritable = all(isinstance(r, dict) or hasattr(r, "__dict__") for r in referrers)
        if not rewritable or (not count and not old.acquire(True, max(0.0, deadline - monotonic()))):
            stuck.append(_module_level_name(referrers, old))
            continue
        new: Any = RLock() if reentrant else LockType()
        for _ in range(count):
            new.acquire()
        for holder in referrers:
            space = holder if isinstance(holder, dict) else vars(holder)
            for key, value in list(space.items()):
                if value is old:
                    space[key] = new
        if not count:
            old.release()
        upgraded += 1
    del found
    return upgraded, stuck


def _foreign_threads() -> int:
    """OS threads running now other than the calling one and greenlane's own (tpool, monitor)."""
    me = threading.get_ident()
    count = 0
    for ident, top in sys._current_frames().items():
        if ident == me:
            continue
        bottom = top
        while bottom.f_back is not None:
            bottom = bottom.f_back
        if not str(bottom.f_globals.get("__name__", "")).startswith("greenlane."):
            count += 1
    return count


def _holder_name(referrers: list[Any], obj: Any) -> str:
    """``module.attr`` or ``Type.attr`` naming one place that holds ``obj``."""
    for holder in referrers:
        space = holder if isinstance(holder, dict) else getattr(holder, "__dict__", None)
        if not isinstance(space, dict):
            continue
        for key, value in space.items():
            if value is obj:
                owner = space.get("__name__") if "__builtins__" in space else type(holder).__name__
                return f"{owner}.{key}"
    return f"<SimpleQueue at {id(obj):#x}>"


def _upgrade_simple_queues() -> tuple[int, list[str]]:
    """Swap C ``SimpleQueue``s for green ones (see the module docstring); (swapped, names of kept)."""
    from ._core import SimpleQueue as CSimpleQueue
    from .green.queue import SimpleQueue

    gc.collect()
    found = [obj for obj in gc.get_objects() if type(obj) is CSimpleQueue]
    if not found:
        return 0, []
    others = _foreign_threads()
    swapped = 0
    kept: list[str] = []
    for old in found:
        referrers = [r for r in gc.get_referrers(old) if r is not found]
        if not referrers or any(_keep(r) for r in referrers):
            continue
        rewritable = all(isinstance(r, dict) or hasattr(r, "__dict__") for r in referrers)
        if others or not rewritable:
            kept.append(_holder_name(referrers, old))
            continue
        new: SimpleQueue[Any] = SimpleQueue()
        while not old.empty():
            new.put(old.get_nowait())
        for holder in referrers:
            space = holder if isinstance(holder, dict) else vars(holder)
            for key, value in list(space.items()):
                if value is old:
                    space[key] = new
        swapped += 1
    del found
    return swapped, kept


def _regreen_logging() -> None:
    """Give each ``logging`` handler still holding a real lock a green one (registered for fork too)."""
    mod = sys.modules.get("logging")
    if mod is None:
        return
    from .green.thread import RLock

    deadline = monotonic() + HELD_LOCK_PATIENCE
    for ref in list(getattr(mod, "_handlerList", ())):
        handler = ref()
        if handler is None or handler.lock is None or isinstance(handler.lock, RLock):
            continue
        old = handler.lock
        if old.acquire(True, max(0.0, deadline - monotonic())):
            handler.createLock()
            old.release()
