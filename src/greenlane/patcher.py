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

After patching a module, the stdlib modules' own module-level copies of the
names it replaced are pointed at the green ones (``socketserver`` keeps
``selectors.PollSelector`` as ``_ServerSelector``, captured at its import).

After the ``thread`` keyword, what was made before patching is dealt with by
``_upgrade``: real locks (``logging``'s among them) are swapped for green ones
where every reference to them can be rewritten, and a ``MonkeyPatchWarning``
names what cannot be fixed: OS threads already running, module-level locks
that are held or shared, ``urllib3`` imported (its connection pools hold
``queue.LifoQueue`` objects built on real locks).
"""

from __future__ import annotations

import atexit
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import logging
import sys
import threading
import warnings
from collections.abc import Iterator, Mapping, Sequence
from types import ModuleType
from typing import Any, Final

from . import _upgrade
from ._upgrade import MonkeyPatchWarning
from .green._copies import load_copy, namespace

__all__ = [
    "KEYWORD_MODULES",
    "MonkeyPatchWarning",
    "alias_eventlet",
    "already_patched",
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
        ("_queue", "greenlane.green._cqueue"),
        ("signal", "greenlane.green.signal"),
    ),
    "time": (("time", "greenlane.green.time"),),
    "subprocess": (("subprocess", "greenlane.green.subprocess"),),
    "psycopg": (),
    "MySQLdb": (),
    "builtins": (("builtins", "greenlane.green.builtins"),),
}
# Accepted for eventlet compatibility; patched only when asked for by name.
OPT_IN: Final = frozenset({"MySQLdb", "builtins"})
# Accepted, but greenlane has nothing to patch for them: a warning says so.
UNSUPPORTED: Final = frozenset({"psycopg", "MySQLdb"})
_ALIASES: Final = {"__builtin__": "builtins"}

# stdlib module -> {name: the value patching replaced (_MISSING: it had none)}.
_saved: dict[str, dict[str, Any]] = {}
_patched_keywords: set[str] = set()
# eventlet's public view of the same: {keyword: True} for each keyword patched so far.
already_patched: dict[str, bool] = {}
_declined: set[str] = set()  # unsupported keywords already warned about
_MISSING: Any = object()
_originals: dict[str, ModuleType] = {}
_lock = threading.RLock()  # greenlane's own: stays a real lock (see _upgrade)


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
            if key in _patched_keywords or key in _declined:
                continue
            if key in UNSUPPORTED:
                _declined.add(key)
                _unsupported(key, explicit=on.get(key) is True)
                continue
            before = _upgrade.snapshot() if key == "thread" else None
            for stdlib_name, green_name in KEYWORD_MODULES[key]:
                _patch_module(stdlib_name, green_name)
            _patched_keywords.add(key)
            already_patched[key] = True
            if before is not None:
                _upgrade.after_thread_patch(before, original("_thread"))


def _unsupported(key: str, explicit: bool) -> None:
    module = {"psycopg": "psycopg2", "MySQLdb": "MySQLdb"}[key]
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
    _green_for[stdlib_name] = green
    if _REPATCH_FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _REPATCH_FINDER)
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


# stdlib module name -> the green module patched into it (for fresh imports, below).
_green_for: dict[str, ModuleType] = {}


class _RepatchFinder(importlib.abc.MetaPathFinder):
    """Patch a patched stdlib module again when it is imported afresh.

    ``test.support.import_helper.import_fresh_module("queue", fresh=["_queue"])``
    and code like it drop a module from ``sys.modules`` and import it again:
    a C module comes back as a new module object with its original C names
    (``_queue.SimpleQueue`` blocking the OS thread), a Python one runs again.
    While patched, such a new module gets the green names too, as the first
    one did; ``original()`` keeps handing out the originals saved then.
    """

    def __init__(self) -> None:
        self._finding: set[str] = set()

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        """The module's own spec, with its loader wrapped, for a patched stdlib module; else None."""
        if fullname not in _green_for or fullname in self._finding:
            return None
        self._finding.add(fullname)
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self._finding.discard(fullname)
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _RepatchingLoader(spec.loader, fullname)
        return spec


class _RepatchingLoader(importlib.abc.Loader):
    """Runs the real loader, then sets the green names on the new module."""

    def __init__(self, loader: Any, name: str) -> None:
        self._loader = loader
        self._name = name

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        """The real loader's module."""
        module: ModuleType | None = self._loader.create_module(spec)
        return module

    def exec_module(self, module: ModuleType) -> None:
        """Run the module as the real loader does, then patch it as the first one was."""
        self._loader.exec_module(module)
        green = _green_for.get(self._name)
        if green is None:
            return
        for name in green.__implements__:
            setattr(module, name, getattr(green, name))
        for name in getattr(green, "__removed__", ()):
            if hasattr(module, name):
                delattr(module, name)

    def __getattr__(self, name: str) -> Any:  # get_source, is_package ... stay the real loader's
        return getattr(self._loader, name)


_REPATCH_FINDER: Final = _RepatchFinder()


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


def alias_eventlet() -> None:
    """Make ``import eventlet`` and every ``eventlet.X`` resolve to greenlane's own modules.

    For programs that set themselves up; ``python -m greenlane --eventlet`` and
    ``GREENLANE_EVENTLET=1`` do the same from outside. Patches nothing (call
    ``monkey_patch`` as before); a second call is a no-op; raises
    ``greenlane._alias.AliasError`` (an ``ImportError``) if the real eventlet
    is already imported. See ``greenlane._alias`` for the rules.
    """
    from . import _alias

    _alias.install()


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
        if name == "threading":
            # The interpreter joins only the real module's non-daemon threads at exit;
            # the copy's OS threads would be killed mid-work without this.
            atexit.register(copy._shutdown)
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
    not registered. The module's own submodules that it imports are copied
    the same way (as eventlet re-imports them). ``additional_modules``
    (``(name, module)`` pairs) and keyword ones replace further imports.
    """
    replacements: dict[str, ModuleType] = {}
    for std_name, green_name in _GREEN_FOR_IMPORT:
        green = _green_module(green_name)
        if green is not None:
            replacements[std_name] = green
    replacements.update(dict(additional_modules))
    replacements.update(kw_additional_modules)
    return load_copy(module_name, module_name, replacements, copies={})


def inject(module_name: str, new_globals: dict[str, Any] | None, *additional_modules: tuple[str, ModuleType]
           ) -> ModuleType:
    """eventlet's ``inject``: ``import_patched`` with only ``additional_modules`` replaced.

    When ``new_globals`` is given, the copy's names are also copied into it.
    """
    copy = load_copy(module_name, module_name, dict(additional_modules))
    if new_globals is not None:
        new_globals.update({k: v for k, v in vars(copy).items() if not k.startswith("__")})
    return copy
