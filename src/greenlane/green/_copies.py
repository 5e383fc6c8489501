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
import importlib.util
from collections.abc import Mapping
from types import ModuleType
from typing import Any

__all__ = ["load_copy", "namespace"]


def load_copy(name: str, as_name: str, replacements: Mapping[str, ModuleType]) -> ModuleType:
    """Run module ``name``'s source as a new module ``as_name``, its imports of ``replacements`` redirected.

    The copy is not put in ``sys.modules``. Raises ``ImportError`` if the
    module has no Python source (a C module cannot be copied).
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
        if level == 0 and mod in replacements:
            return replacements[mod]
        return real_import(mod, globals, locals, fromlist or (), level)

    module = ModuleType(as_name)
    ns = module.__dict__
    ns["__file__"] = spec.origin
    ns["__spec__"] = None
    ns["__package__"] = name.rpartition(".")[0] if not spec.submodule_search_locations else name
    ns["__builtins__"] = {**builtins.__dict__, "__import__": redirected_import}
    exec(compile(source, spec.origin, "exec"), ns)
    return module


def namespace(name: str, values: Mapping[str, Any]) -> ModuleType:
    """A module object named ``name`` holding exactly ``values``."""
    module = ModuleType(name)
    module.__dict__.update(values)
    return module
