"""Private copies of pure-Python stdlib modules, built over other modules.

``greenlane.green.threading`` used without patching needs a ``threading``
whose ``Thread``, ``Condition`` and ``Event`` are green while the real one
stays untouched; ``greenlane.patcher.original`` needs the opposite (a
``threading`` over the real ``_thread`` after patching); ``import_patched``
needs a module whose own imports see green modules. All three are the same
operation: run the stdlib module's source again in a new module object whose
``import`` statements resolve some names to given modules.

Only the copied module's own ``import`` statements are redirected (through
its private ``__builtins__``): nothing in ``sys.modules`` is swapped, even
for a moment, so other OS threads importing meanwhile see the real modules.
"""

from __future__ import annotations

import builtins
import importlib
import importlib.util
import sys
from collections.abc import Mapping
from types import ModuleType
from typing import Any

__all__ = ["become_copy", "load_copy", "namespace", "share_exceptions"]


def load_copy(
    name: str,
    as_name: str,
    replacements: Mapping[str, ModuleType],
    into: ModuleType | None = None,
    copies: dict[str, ModuleType] | None = None,
) -> ModuleType:
    """Run module ``name``'s source as a new module ``as_name``, its imports of ``replacements`` redirected.

    The copy is not put in ``sys.modules``. With ``into``, the source runs in
    that (already registered) module instead, which keeps its own
    ``__file__`` and ``__spec__``: a green module that *is* a copy, such as
    ``greenlane.green.http.client``. Raises ``ImportError`` if the module has
    no Python source (a C module cannot be copied).

    ``import a.b`` (no ``from``) binds ``a``; when ``a`` itself is replaced
    the statement gets the replacement of ``a``, whose attribute ``b`` must
    then be the green ``a.b`` (the green packages load theirs on first use).

    With ``copies`` (a dict, shared by the whole tree), the module's imports
    of its own submodules (``from .sub import x``, ``import name.sub``) get
    copies too, made over the same replacements, once each: what
    ``import_patched`` of a package needs.
    """
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or spec.origin is None:
        raise ImportError(f"no module named {name!r}", name=name)
    get_source = getattr(spec.loader, "get_source", None)
    source = get_source(name) if get_source is not None else None
    if source is None:
        raise ImportError(f"{name!r} has no Python source to copy", name=name)
    real_import = builtins.__import__

    def redirected_import(
        mod: str,
        globals: Mapping[str, Any] | None = None,
        locals: Mapping[str, Any] | None = None,
        fromlist: tuple[str, ...] | list[str] | None = (),
        level: int = 0,
    ) -> ModuleType:
        if copies is not None:
            copied = _within(mod, globals, fromlist, level)
            if copied is not None:
                return copied
        if level == 0:
            top, dot, _ = mod.partition(".")
            if dot and not fromlist and top in replacements:
                return replacements[top]
            if mod in replacements:
                return replacements[mod]
        return real_import(mod, globals, locals, fromlist or (), level)

    def _within(
        mod: str, globals: Mapping[str, Any] | None, fromlist: Any, level: int
    ) -> ModuleType | None:
        """The copy an import inside the copied tree gets, or None for anything outside it."""
        assert copies is not None
        package = (globals or {}).get("__package__") or ""
        target = importlib.util.resolve_name("." * level + mod, package) if level else mod
        if not fromlist:
            target = target.partition(".")[0] if not level else target
        if target != name and not target.startswith(name + "."):
            return None
        module = _copy_of(target)
        for item in fromlist or ():
            sub = f"{target}.{item}"
            if item != "*" and not hasattr(module, item) and importlib.util.find_spec(sub) is not None:
                setattr(module, item, _copy_of(sub))
        return module

    def _copy_of(target: str) -> ModuleType:
        assert copies is not None
        if target not in copies:
            load_copy(target, target, replacements, copies=copies)
        return copies[target]

    if into is None:
        module = ModuleType(as_name)
        ns = module.__dict__
        ns["__file__"] = spec.origin
        ns["__spec__"] = None
        ns["__package__"] = name.rpartition(".")[0] if not spec.submodule_search_locations else name
        if spec.submodule_search_locations is not None:
            ns["__path__"] = list(spec.submodule_search_locations)
        if copies is not None:
            copies[as_name] = module  # before it runs: a submodule importing it back gets this one
    else:
        module = into
        ns = module.__dict__
    ns["__builtins__"] = {**builtins.__dict__, "__import__": redirected_import}
    exec(compile(source, spec.origin, "exec", dont_inherit=True), ns)
    return module


def namespace(name: str, values: Mapping[str, Any]) -> ModuleType:
    """A module object named ``name`` holding exactly ``values``."""
    module = ModuleType(name)
    module.__dict__.update(values)
    return module


def share_exceptions(copy: ModuleType, original: ModuleType) -> None:
    """Make the exception classes of ``copy`` the ``original`` module's own.

    A copy defines its exceptions anew; swapping the names back after it ran
    makes its functions raise the stdlib's classes, so one ``except
    http.client.HTTPException`` catches what the green and the real module
    raise. Only classes the copy defined itself are swapped.
    """
    ns = copy.__dict__
    for key, value in list(ns.items()):
        if (
            isinstance(value, type)
            and issubclass(value, BaseException)
            and value.__module__ == copy.__name__
        ):
            shared = getattr(original, key, None)
            if isinstance(shared, type) and issubclass(shared, BaseException):
                ns[key] = shared


def become_copy(module_name: str, std_name: str, replacements: Mapping[str, ModuleType]) -> None:
    """Fill the module being imported as ``module_name`` with a copy of ``std_name`` over ``replacements``.

    For green modules that are whole copies (``greenlane.green.http.client``
    is ``http.client`` over green ``socket`` and ``ssl``). The module keeps
    its own docstring; its exceptions are the stdlib's (``share_exceptions``).
    """
    module = sys.modules[module_name]
    doc = module.__doc__
    load_copy(std_name, module_name, replacements, into=module)
    share_exceptions(module, importlib.import_module(std_name))
    module.__doc__ = doc
