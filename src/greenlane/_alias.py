"""The ``eventlet`` alias: code written for eventlet imports greenlane without an edit.

An eventlet user does not only rename their own imports: the libraries under
them (oslo.service, oslo.log, futurist, kombu, python-engineio, swift...)
import ``eventlet`` by name and pick their eventlet code paths by that name.
The alias makes those imports land on greenlane:

* **One module, two names.** A ``sys.meta_path`` finder answers every
  ``eventlet.X`` with greenlane's own module object ``greenlane.X``:
  ``sys.modules["eventlet.event"] is greenlane.event``. There are no copies,
  so patch registries, ``isinstance`` and ``mock.patch("eventlet.X.y")`` all
  see one set of objects. eventlet's Python 2 module names
  (``eventlet.green.httplib``, ...) are their Python 3 modules
  (``greenlane.green.PY2_NAMES``).
* **A thin top level.** ``eventlet`` itself is a small module that forwards
  every attribute read, write and delete to ``greenlane``, except
  ``__version__``: that reports the eventlet API level greenlane implements
  (``EVENTLET_API_VERSION``), so version gates in libraries pass. The truth
  is one attribute away: ``eventlet.__greenlane_version__``.
* **All or nothing.** When the real eventlet is already imported, installing
  the alias raises ``AliasError`` naming the modules that hold it, and
  changes nothing: a process half on eventlet and half on greenlane would
  have two hubs that never see each other's green threads.
* **eventlet's environment.** ``EVENTLET_*`` variables are translated once,
  when the alias is installed, to the ``GREENLANE_*`` variable of the same
  meaning (an explicit ``GREENLANE_*`` value wins); a value greenlane cannot
  honour is logged as a warning, once, rather than silently ignored.

Three ways in, one mechanism (``install``): ``python -m greenlane --eventlet
app.py``; ``GREENLANE_EVENTLET=1`` in the environment (a ``.pth`` hook the
wheel installs calls ``install_from_environment`` at interpreter start and
does nothing else); and ``greenlane.patcher.alias_eventlet()``. Installing
twice is a no-op. The alias patches nothing: as under eventlet, the program
calls ``eventlet.monkey_patch()`` itself.

Process-wide state (``docs/design.md``): the finder object in
``sys.meta_path`` and the modules it put in ``sys.modules``; nothing to reset
after a fork.
"""

from __future__ import annotations

import importlib
import importlib.abc
import logging
import os
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any, Final

import greenlet

import greenlane

from .green import PY2_NAMES

__all__ = [
    "EVENTLET_API_VERSION",
    "AliasError",
    "install",
    "install_from_environment",
    "installed",
]

log = logging.getLogger("greenlane.alias")

# The eventlet release whose API greenlane implements; what ``eventlet.__version__`` says.
EVENTLET_API_VERSION: Final = "0.41.3"

# Modules eventlet's ``__init__`` imports, so ``import eventlet; eventlet.support.X`` works.
_EAGER_SUBMODULES: Final = frozenset(
    {"convenience", "event", "greenpool", "greenthread", "patcher", "queue", "semaphore", "support",
     "timeout"}
)

_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"", "0", "false", "no", "off"})


class AliasError(ImportError):
    """The ``eventlet`` alias cannot be installed (the real eventlet is already imported)."""


class EventletModule(ModuleType):
    """The top-level ``eventlet`` under the alias: every attribute is greenlane's, but the version."""

    # Attributes the thin module keeps itself; everything else lives on ``greenlane``.
    _OWN: Final = frozenset(
        {
            "__name__",
            "__doc__",
            "__package__",
            "__loader__",
            "__spec__",
            "__path__",
            "__version__",
            "__greenlane_version__",
            "version_info",
            "greenlet",
        }
    )

    def __getattr__(self, name: str) -> Any:
        try:
            return getattr(greenlane, name)
        except AttributeError:
            if name not in _EAGER_SUBMODULES:
                raise AttributeError(f"module 'eventlet' (greenlane) has no attribute {name!r}") from None
        return importlib.import_module(f"greenlane.{name}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self._OWN:
            super().__setattr__(name, value)
        else:
            setattr(greenlane, name, value)

    def __delattr__(self, name: str) -> None:
        if name in self._OWN:
            super().__delattr__(name)
        else:
            delattr(greenlane, name)

    def __dir__(self) -> list[str]:
        return sorted(set(dir(greenlane)) | set(self.__dict__) | _EAGER_SUBMODULES)

    def __repr__(self) -> str:
        return f"<module 'eventlet' (greenlane {greenlane.__version__}, eventlet API {EVENTLET_API_VERSION})>"


class _SameModuleLoader(importlib.abc.Loader):
    """Hands out an already imported greenlane module under its eventlet name."""

    def __init__(self, module: ModuleType) -> None:
        self._module = module
        self._spec = module.__spec__

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        return self._module

    def exec_module(self, module: ModuleType) -> None:
        # The import system has just set ``__spec__`` to the alias's spec; the
        # module stays greenlane's (its name, spec and reloads are greenlane's).
        module.__spec__ = self._spec


class _TopLoader(importlib.abc.Loader):
    """Builds the thin top-level ``eventlet`` module."""

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        return EventletModule(spec.name)

    def exec_module(self, module: ModuleType) -> None:
        module.__doc__ = f"eventlet's names, served by greenlane {greenlane.__version__} (eventlet alias)."
        vars(module).update(
            __version__=EVENTLET_API_VERSION,
            version_info=tuple(int(part) for part in EVENTLET_API_VERSION.split(".")),
            __greenlane_version__=greenlane.__version__,
            greenlet=greenlet,  # eventlet's ``__init__`` imports the greenlet package
        )
        for name in sorted(_EAGER_SUBMODULES):  # as eventlet's ``__init__`` does
            try:
                importlib.import_module(f"eventlet.{name}")
            except ModuleNotFoundError as exc:
                if exc.name != f"eventlet.{name}":  # TODO(alias): strict once greenlane.support lands
                    raise


class EventletFinder(importlib.abc.MetaPathFinder):
    """Resolves ``eventlet`` and ``eventlet.X`` to greenlane; installed first in ``sys.meta_path``."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        """The spec of ``eventlet`` (the thin module) or of ``eventlet.X`` (greenlane's ``X``)."""
        if fullname == "eventlet":
            return ModuleSpec("eventlet", _TopLoader(), is_package=True)
        if not fullname.startswith("eventlet."):
            return None
        name = "greenlane" + fullname[len("eventlet") :]
        parent, _, last = name.rpartition(".")
        if parent == "greenlane.green" and last in PY2_NAMES:
            name = f"{parent}.{PY2_NAMES[last]}"
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise  # greenlane has the module, but something it imports is missing
            raise ModuleNotFoundError(
                f"No module named {fullname!r}: greenlane, standing in for eventlet, has no {name}",
                name=fullname,
            ) from None
        return ModuleSpec(fullname, _SameModuleLoader(module), is_package=hasattr(module, "__path__"))


def installed() -> bool:
    """Whether the ``eventlet`` alias is installed in this process."""
    return any(isinstance(finder, EventletFinder) for finder in sys.meta_path)


def install() -> None:
    """Make ``import eventlet`` (and every ``eventlet.X``) resolve to greenlane; a no-op if done.

    Raises ``AliasError`` if the real eventlet is already imported, changing nothing.
    """
    if installed():
        return
    _refuse_real_eventlet()
    _translate_environment(os.environ)
    sys.meta_path.insert(0, EventletFinder())
    importlib.import_module("eventlet")


def install_from_environment() -> None:
    """Install the alias if ``GREENLANE_EVENTLET`` asks for it (the ``.pth`` hook's entry point).

    A value that is neither true (1, true, yes, on) nor false (0, false, no,
    off, empty) is reported on stderr and the alias is not installed.
    """
    raw = os.environ.get("GREENLANE_EVENTLET", "")
    value = raw.strip().lower()
    if value in _FALSE:
        return
    if value not in _TRUE:
        log.warning("GREENLANE_EVENTLET=%r is not one of 1/true/yes/on or 0/false/no/off: no alias", raw)
        return
    install()


def _refuse_real_eventlet() -> None:
    real = sorted(name for name in sys.modules if name == "eventlet" or name.startswith("eventlet."))
    if not real:
        return
    top = sys.modules.get("eventlet")
    where = getattr(top, "__file__", None) or "?"
    holders = _modules_holding(real)
    who = f"; modules holding it: {', '.join(holders)}" if holders else ""
    raise AliasError(
        f"the real eventlet ({where}) is already imported ({len(real)} eventlet modules){who}. "
        "Install the alias before anything imports eventlet: run with `python -m greenlane --eventlet`, "
        "set GREENLANE_EVENTLET=1, or call greenlane.patcher.alias_eventlet() first thing"
    )


def _modules_holding(eventlet_names: list[str], limit: int = 5) -> list[str]:
    """Up to ``limit`` non-eventlet modules whose globals refer to an eventlet module or object."""
    eventlet_modules = {id(sys.modules[name]) for name in eventlet_names}
    holders = []
    for name, module in list(sys.modules.items()):
        if name == "eventlet" or name.startswith("eventlet.") or module is None:
            continue
        for value in list(getattr(module, "__dict__", {}).values()):
            owner = getattr(value, "__module__", None) if not isinstance(value, ModuleType) else None
            if id(value) in eventlet_modules or (
                isinstance(owner, str) and (owner == "eventlet" or owner.startswith("eventlet."))
            ):
                holders.append(name)
                break
        if len(holders) == limit:
            break
    return holders


# eventlet's hub names -> greenlane's pollers (EVENTLET_HUB may also be a dotted module path).
_HUBS: Final = {"epolls": "epoll", "epoll": "epoll", "poll": "poll", "polls": "poll", "selects": "select"}
# Accepted, with what greenlane does instead; logged at INFO.
_NOTHING_TO_DO: Final = {
    "EVENTLET_NO_GREENDNS": "greenlane has no greendns (dnspython): its DNS always runs libc's resolver in "
    "tpool, so names resolve cooperatively without dnspython",
    "EVENTLET_TPOOL_DNS": "greenlane's DNS always runs libc's resolver in tpool",
    "EVENTLET_DEPRECATED_EAI_NODATA": "greenlane raises the stdlib's socket.gaierror codes unchanged",
    "EVENTLET_TESTS": "eventlet's own test suite marks its processes with it; nothing to do",
}


def _translate_environment(environ: Any) -> None:
    """Map ``EVENTLET_*`` variables to greenlane's; log once what cannot be honoured."""
    for key in sorted(k for k in environ if k.startswith("EVENTLET_")):
        value = environ[key]
        if key == "EVENTLET_HUB":
            _translate_hub(environ, value)
        elif key == "EVENTLET_THREADPOOL_SIZE":
            _translate_plain(environ, key, value, "GREENLANE_THREADPOOL_SIZE", value)
        elif key in _NOTHING_TO_DO:
            log.info("%s=%r accepted: %s", key, value, _NOTHING_TO_DO[key])
        else:
            log.warning("%s=%r has no meaning under greenlane and is ignored", key, value)


def _translate_plain(environ: Any, key: str, value: str, ours: str, ours_value: str) -> None:
    current = environ.get(ours)
    if current is not None and current.strip().lower() != ours_value:
        log.warning("%s=%r ignored: %s=%r is set and wins", key, value, ours, current)
    else:
        environ[ours] = ours_value


def _translate_hub(environ: Any, value: str) -> None:
    name = value.strip().lower().removeprefix("eventlet.hubs.")
    poller = _HUBS.get(name)
    if poller is None:
        log.warning(
            "EVENTLET_HUB=%r cannot be honoured (greenlane's hubs: epolls, poll, selects): default hub used",
            value,
        )
        return
    _translate_plain(environ, "EVENTLET_HUB", value, "GREENLANE_HUB", poller)
