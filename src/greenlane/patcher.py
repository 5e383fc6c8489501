"""Monkey patching: the only code in greenlane that changes stdlib modules.

``monkey_patch()`` sets, on each stdlib module, the names its green module
lists in ``__implements__`` (``time.sleep``; ``threading``'s few hooks into
``_thread``; ``socket.socket``; ...) and remembers every value it replaced, in
one registry (``_saved``), so ``original()`` can hand out untouched modules
and a second call changes nothing. Modules are patched in place rather than
replaced in ``sys.modules``: code that did ``import threading`` or
``from time import sleep``-style module references before patching sees the
green names too (a name copied out with ``from time import sleep`` before
patching cannot be reached; that is what the warnings are for).

Keywords follow eventlet: with none true, everything is patched except the
opt-in ones (``builtins``, ``MySQLdb``); with any true, only those. What each
keyword covers is in ``KEYWORD_MODULES`` (and the migration guide's table).

After the ``thread`` keyword, what was made before patching is dealt with:
re-entrant locks (``logging``'s among them) are swapped for green ones where
every reference to them can be rewritten, a few known module-level plain
locks of the stdlib are replaced, and a warning names what cannot be fixed:
OS threads already running, plain locks held in other modules, ``urllib3``
imported (its connection pools hold ``queue.LifoQueue`` objects built on the
real locks).
"""

from __future__ import annotations

import gc
import importlib
import logging
import sys
import threading
import warnings
from collections.abc import Iterable, Iterator, Mapping
from types import ModuleType
from typing import Any, Final

from ._core._stdlib import monotonic as _os_clock
from .green._copies import load_copy, namespace

__all__ = [
    "KEYWORD_MODULES",
    "MonkeyPatchWarning",
    "import_patched",
    "inject",
    "is_monkey_patched",
    "monkey_patch",
    "original",
]

log = logging.getLogger("greenlane.patcher")

# keyword -> (stdlib module, green module) pairs it patches, in patching order.
KEYWORD_MODULES: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "os": (("os", "greenlane.green.os"),),
    "select": (("select", "greenlane.green.select"), ("selectors", "greenlane.green.selectors")),
    "socket": (("socket", "greenlane.green.socket"), ("ssl", "greenlane.green.ssl")),
    "thread": (
        ("_thread", "greenlane.green.thread"),
        ("threading", "greenlane.green.threading"),
        ("queue", "greenlane.green.queue"),
        ("signal", "greenlane.green.signal"),
    ),
    "time": (("time", "greenlane.green.time"),),
    "subprocess": (("subprocess", "greenlane.green.subprocess"),),
    "psycopg": (),
    "MySQLdb": (),
    "builtins": (),
}
# Accepted for eventlet compatibility; patched only when asked for by name.
OPT_IN: Final = frozenset({"MySQLdb", "builtins"})
# Accepted, but greenlane has nothing to patch for them: a warning says so.
UNSUPPORTED: Final = frozenset({"psycopg", "MySQLdb", "builtins"})
_ALIASES: Final = {"__builtin__": "builtins"}

# stdlib module -> {name: the value patching replaced (_MISSING: it had none)}.
_saved: dict[str, dict[str, Any]] = {}
_patched_keywords: set[str] = set()
_MISSING: Any = object()
_originals: dict[str, ModuleType] = {}
_lock = threading.RLock()  # taken before patching: stays a real lock (never upgraded, see _upgrade_rlocks)

# How long patching waits, in all, for OS threads to let go of locks it upgrades:
# a thread logging holds a handler's lock for microseconds; one holding it longer keeps it.
HELD_LOCK_PATIENCE: Final = 1.0

# Module-level plain locks in the stdlib that are held across a thread start
# (so across a green switch) and are safe to replace while unlocked.
_KNOWN_LOCKS: Final = (("concurrent.futures.thread", "_global_shutdown_lock"),)


class MonkeyPatchWarning(RuntimeWarning):
    """Something made before ``monkey_patch()`` could not be made green."""


def monkey_patch(**on: bool | None) -> None:
    """Make the stdlib cooperative: eventlet's ``monkey_patch`` and keywords.

    ``monkey_patch()`` patches everything but the opt-in modules;
    ``monkey_patch(socket=True)`` only sockets; ``monkey_patch(os=False,
    thread=False)`` everything but those two. Keywords: ``all``, ``os``,
    ``select``, ``socket``, ``thread``, ``time``, ``subprocess``, ``psycopg``,
    ``MySQLdb``, ``builtins`` (``__builtin__``). An unknown keyword raises
    ``TypeError``; a call repeating an earlier one changes nothing.
    """
    for old, new in _ALIASES.items():
        if old in on:
            if new in on:
                raise TypeError(f"monkey_patch() got both {old!r} and {new!r}")
            on[new] = on.pop(old)
    default = on.pop("all", None)
    for key in on:
        if key not in KEYWORD_MODULES:
            raise TypeError(f"monkey_patch() got an unexpected keyword argument {key!r}")
    if default is None:
        default = True not in on.values()
    wanted = [
        key for key in KEYWORD_MODULES if on.get(key, False if key in OPT_IN else default)
    ]
    with _lock:
        for key in wanted:
            if key in _patched_keywords:
                continue
            if key in UNSUPPORTED:
                _patched_keywords.add(key)
                _unsupported(key, explicit=on.get(key) is True)
                continue
            before = _thread_state() if key == "thread" else None
            for stdlib_name, green_name in KEYWORD_MODULES[key]:
                _patch_module(stdlib_name, green_name)
            _patched_keywords.add(key)
            if before is not None:
                _after_thread_patch(before)


def _unsupported(key: str, explicit: bool) -> None:
    module = {"psycopg": "psycopg2", "builtins": "builtins", "MySQLdb": "MySQLdb"}[key]
    if not explicit and key == "psycopg" and importlib.util.find_spec(module) is None:
        return  # on by default, and not installed: nothing to say
    warnings.warn(
        f"monkey_patch({key}=True): greenlane does not patch {module}; it stays blocking "
        "(run its calls through greenlane.tpool.execute)",
        MonkeyPatchWarning,
        stacklevel=3,
    )


def _green_module(green_name: str) -> ModuleType | None:
    try:
        return importlib.import_module(green_name)
    except ModuleNotFoundError as exc:
        if exc.name != green_name:
            raise
        log.debug("%s is not available yet: not patched", green_name)
        return None


def _patch_module(stdlib_name: str, green_name: str) -> None:
    green = _green_module(green_name)
    if green is None:
        return
    std = importlib.import_module(stdlib_name)
    saved = _saved.setdefault(stdlib_name, {})
    replaced: dict[int, Any] = {}
    for name in green.__implements__:
        if name in saved:
            continue
        saved[name] = old = getattr(std, name, _MISSING)
        new = getattr(green, name)
        setattr(std, name, new)
        if old is not _MISSING and not isinstance(old, (int, str, bytes)):
            replaced[id(old)] = (old, new)
    for name in getattr(green, "__removed__", ()):
        if name not in saved and hasattr(std, name):
            saved[name] = getattr(std, name)
            delattr(std, name)
    _refresh_captured(stdlib_name, replaced)
    install = getattr(green, "_after_patch", None)
    if install is not None:
        install()


def _refresh_captured(patched: str, replaced: dict[int, Any]) -> None:
    """Point stdlib modules' module-level copies of replaced names at the green ones.

    ``socketserver._ServerSelector = selectors.PollSelector`` and its like run
    when those modules are imported, often before patching; left alone, a
    patched ``socketserver`` would still block in the real poll.
    """
    if not replaced:
        return
    for module_name, module in list(sys.modules.items()):
        top = module_name.partition(".")[0]
        if (
            module is None
            or module_name in (patched, "threading", "_thread")
            or top not in sys.stdlib_module_names
            or top == "importlib"
        ):
            continue
        space = getattr(module, "__dict__", None)
        if not isinstance(space, dict):
            continue
        for attr, value in list(space.items()):
            hit = replaced.get(id(value))
            if hit is not None and hit[0] is value and not attr.startswith("__"):
                _saved.setdefault(module_name, {}).setdefault(attr, value)
                space[attr] = hit[1]


def is_monkey_patched(module: str | ModuleType) -> bool:
    """True if ``module`` (a keyword like ``"thread"``, a stdlib module or its name) is patched."""
    name = module.__name__ if isinstance(module, ModuleType) else module
    name = _ALIASES.get(name, name)
    if name in KEYWORD_MODULES:
        return name in _patched_keywords
    return bool(_saved.get(name))


def original(name: str) -> ModuleType:
    """The stdlib module ``name`` as it was before patching (for code that needs real OS threads).

    For a module greenlane never patched this is simply the module. A patched
    C module comes back as a module object holding its original names; a
    patched Python module (``threading``, ``queue``, ...) as a private copy
    run over the original modules, so ``original("threading").Thread``
    starts an OS thread.
    """
    with _lock:
        return _original(name)


def _original(name: str) -> ModuleType:
    if name in _originals:
        return _originals[name]
    module = importlib.import_module(name)
    saved = _saved.get(name)
    if not saved:
        return module
    try:
        copy = load_copy(name, name, _Originals(exclude=name))
    except ImportError:  # a C module: its functions look nothing up in it, so a namespace will do
        values = dict(module.__dict__)
        for attr, value in saved.items():
            if value is _MISSING:
                values.pop(attr, None)
            else:
                values[attr] = value
        copy = namespace(name, values)
    _originals[name] = copy
    return copy


class _Originals(Mapping[str, ModuleType]):
    """The original of each patched module, made only when a copied module imports it."""

    def __init__(self, exclude: str) -> None:
        self._exclude = exclude

    def __getitem__(self, name: str) -> ModuleType:
        if name == self._exclude or not _saved.get(name):
            raise KeyError(name)
        return _original(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name != self._exclude and bool(_saved.get(name))

    def __iter__(self) -> Iterator[str]:
        return (name for name in list(_saved) if name in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)


_GREEN_FOR_IMPORT: Final = (
    ("socket", "greenlane.green.socket"),
    ("ssl", "greenlane.green.ssl"),
    ("select", "greenlane.green.select"),
    ("selectors", "greenlane.green.selectors"),
    ("time", "greenlane.green.time"),
    ("_thread", "greenlane.green.thread"),
    ("threading", "greenlane.green.threading"),
    ("queue", "greenlane.green.queue"),
    ("subprocess", "greenlane.green.subprocess"),
    ("os", "greenlane.green.os"),
)


def import_patched(module_name: str, *additional_modules: tuple[str, ModuleType],
                   **kw_additional_modules: ModuleType) -> ModuleType:
    """A fresh copy of ``module_name`` whose own imports get green modules (eventlet's ``import_patched``).

    Nothing is patched and ``sys.modules`` is untouched; the copy is returned,
    not registered. ``additional_modules`` (``(name, module)`` pairs) and
    keyword ones replace further imports.
    """
    replacements: dict[str, ModuleType] = {}
    for std_name, green_name in _GREEN_FOR_IMPORT:
        green = _green_module(green_name)
        if green is not None:
            replacements[std_name] = green
    replacements.update(dict(additional_modules))
    replacements.update(kw_additional_modules)
    return load_copy(module_name, module_name, replacements)


def inject(module_name: str, new_globals: dict[str, Any] | None, *additional_modules: tuple[str, ModuleType]
           ) -> ModuleType:
    """eventlet's ``inject``: ``import_patched`` with only ``additional_modules`` replaced.

    When ``new_globals`` is given, the copy's names are also copied into it.
    """
    copy = load_copy(module_name, module_name, dict(additional_modules))
    if new_globals is not None:
        new_globals.update({k: v for k, v in vars(copy).items() if not k.startswith("__")})
    return copy


# -- what existed before the thread keyword --------------------------------


def _thread_state() -> dict[str, Any]:
    return {
        "threads": [t for t in threading.enumerate() if t is not threading.main_thread()],
        "urllib3": "urllib3" in sys.modules,
    }


def _after_thread_patch(before: dict[str, Any]) -> None:
    problems: list[str] = []
    threads: list[threading.Thread] = before["threads"]
    if threads:
        names = ", ".join(repr(t.name) for t in threads[:10])
        problems.append(
            f"{len(threads)} OS thread(s) started before patching keep running as OS threads: {names}"
        )
    if before["urllib3"]:
        problems.append(
            "urllib3 was imported before patching: its connection pools made before now use real "
            "locks; call greenlane.monkey_patch() before importing it"
        )
    upgraded, stuck = _upgrade_rlocks()
    replaced, held = _replace_known_locks()
    _regreen_logging()
    log.debug("upgraded %d RLocks and %d module-level locks", upgraded, replaced)
    if stuck:
        problems.append(f"{stuck} re-entrant lock(s) held or shared when patching stay real locks")
    problems.extend(held)
    problems.extend(_foreign_module_locks())
    if problems:
        warnings.warn(
            "greenlane.monkey_patch() came late: " + "; ".join(problems), MonkeyPatchWarning, stacklevel=4
        )


def _is_ours(holder: object) -> bool:
    """True for dicts and objects of greenlane itself and of the modules that must keep real locks."""
    module = holder.get("__name__") if isinstance(holder, dict) else type(holder).__module__
    return isinstance(module, str) and (
        module.startswith(("greenlane", "importlib", "_frozen_importlib"))
        or module in ("threading", "_thread", "concurrent.futures.thread")
    )


def _upgrade_rlocks() -> tuple[int, int]:
    """Swap every real ``RLock`` for a green one where all references to it can be rewritten.

    Returns (upgraded, left alone). A lock held by another OS thread, or
    referred to by something other than a dict or an object's attributes
    (a bound method, a closure, a list), is left alone.
    """
    from .green.thread import RLock as GreenRLock

    real_type = type(original("_thread").RLock())
    gc.collect()
    found = [obj for obj in gc.get_objects() if type(obj) is real_type]
    upgraded = stuck = 0
    deadline = _os_clock() + HELD_LOCK_PATIENCE
    for old in found:
        referrers = [r for r in gc.get_referrers(old) if r is not found]
        if not referrers or any(_is_ours(r) for r in referrers):
            continue
        if not all(isinstance(r, dict) or hasattr(r, "__dict__") for r in referrers):
            stuck += 1
            continue
        count = old._recursion_count() if old._is_owned() else 0
        if not count and not _take(old, deadline):  # held by another OS thread throughout
            stuck += 1
            continue
        new = GreenRLock()
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


def _take(lock: Any, deadline: float) -> bool:
    """Acquire a real lock another OS thread may hold for a moment (logging from it, say)."""
    return bool(lock.acquire(True, max(0.0, deadline - _os_clock())))


def _replace_known_locks() -> tuple[int, list[str]]:
    from .green.thread import allocate_lock

    replaced = 0
    held: list[str] = []
    for module_name, attr in _KNOWN_LOCKS:
        module = sys.modules.get(module_name)
        if module is None:
            continue
        lock = getattr(module, attr, None)
        if lock is None or isinstance(lock, type(allocate_lock())):
            continue
        if lock.locked():
            held.append(f"{module_name}.{attr} is held and stays a real lock")
            continue
        setattr(module, attr, allocate_lock())
        replaced += 1
    return replaced, held


def _regreen_logging() -> None:
    """Give every ``logging`` handler that still has a real lock a green one (re-registered for fork)."""
    mod = sys.modules.get("logging")
    if mod is None:
        return
    from .green.thread import RLock as GreenRLock

    deadline = _os_clock() + HELD_LOCK_PATIENCE
    for ref in list(getattr(mod, "_handlerList", ())):
        handler = ref()
        if handler is None or isinstance(handler.lock, GreenRLock) or handler.lock is None:
            continue
        old = handler.lock
        if _take(old, deadline):
            handler.createLock()
            old.release()


def _foreign_module_locks() -> Iterable[str]:
    """Name plain locks held at module level by non-stdlib modules: they stay real."""
    real_lock = type(original("_thread").allocate_lock())
    names: list[str] = []
    for module_name, module in list(sys.modules.items()):
        top = module_name.partition(".")[0]
        if module is None or top in sys.stdlib_module_names or top in ("greenlane", "greenlet", "_pytest"):
            continue
        for attr, value in list(getattr(module, "__dict__", {}).items()):
            if type(value) is real_lock:
                names.append(f"{module_name}.{attr}")
    if names:
        shown = ", ".join(names[:10]) + (" ..." if len(names) > 10 else "")
        yield f"module-level lock(s) created before patching stay real locks: {shown}"
