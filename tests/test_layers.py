"""The import graph: layers point down only, no cycles, and the core is sealed.

Every ``import`` in greenlane's source counts, lazy ones inside functions
included; only those under ``if TYPE_CHECKING:`` (never run) are left out.
The layers, bottom up (a module may import its own layer and the ones below):

- ``core``: ``greenlane._core``: the stdlib and greenlet only; the only code
  that switches greenlets. Above it, modules import ``greenlane._core`` (its
  ``__init__`` exports what they need), never a private ``_core._x`` module.
- ``primitives``: green threads, the primitives, pools, timeouts, tpool, the
  hub class with eventlet's calls (``hubs``), the debug and testing hooks.
- ``green``: the green stdlib modules and what serves sockets with them.
- ``top``: patching, the asyncio bridge, the package facade and the entry
  points.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import greenlane

PACKAGE = Path(greenlane.__file__).parent
STDLIB_AND_GREENLET = {"greenlet", "__future__"}

# Layer of a module: the first entry whose prefix matches its dotted name (after "greenlane.").
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("core", ("_core",)),
    ("primitives", (
        "_native", "config", "corolocal", "debug", "event", "futures", "greenpool", "greenthread",
        "hubs", "lock", "loopingcall", "periodic_task", "pools", "queue", "semaphore", "testing",
        "threadgroup", "timeout", "tpool",
    )),
    ("green", ("backdoor", "convenience", "green", "greenio", "support", "websocket", "wsgi")),
    ("top", ("", "__main__", "_alias", "_upgrade", "asyncio", "gunicorn", "patcher")),
]
ORDER = [name for name, _ in LAYERS]

# The one import of the package facade from inside it: eventlet's alias installs the facade
# module itself as ``eventlet`` (``patcher.alias_eventlet`` loads it lazily, after the facade).
FACADE_IMPORTERS = {"greenlane._alias", "greenlane.__main__"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                skipped.update(id(n) for n in ast.walk(child))
    return skipped


def _imports(name: str, path: Path) -> Iterator[tuple[str, int]]:
    """(imported name, line) for every import in ``path``, submodules resolved (``from . import x``)."""
    tree = ast.parse(path.read_text(), str(path))
    skipped = _type_checking_nodes(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            subs = [f"{module}.{a.name}" for a in node.names if f"{module}.{a.name}" in MODULES]
            if subs and len(subs) == len(node.names):
                for sub in subs:
                    yield sub, node.lineno  # ``from pkg import module``: the module, not pkg's facade
            else:
                yield module, node.lineno


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        graph[name] = {imp for imp, _ in _imports(name, path) if imp in MODULES and imp != name}
    return graph


def _layer(module: str) -> str:
    rest = module.removeprefix("greenlane").removeprefix(".")
    for layer, prefixes in LAYERS:
        for prefix in prefixes:
            if rest == prefix or (prefix and rest.startswith(prefix + ".")):
                return layer
    raise AssertionError(f"{module} is in no layer: add it to LAYERS in {__file__}")


def test_core_imports_only_stdlib_greenlet_and_itself() -> None:
    for name, path in MODULES.items():
        if _layer(name) != "core":
            continue
        for imported, line in _imports(name, path):
            top = imported.split(".")[0]
            if top == "greenlane":
                assert imported.startswith("greenlane._core"), f"{path.name}:{line} imports {imported}"
            else:
                assert top in STDLIB_AND_GREENLET or top in sys.stdlib_module_names, (
                    f"{path.name}:{line} imports {imported}: _core may use only the stdlib and greenlet"
                )


def test_nothing_above_the_core_imports_a_private_core_module() -> None:
    for name, path in MODULES.items():
        if _layer(name) == "core":
            continue
        for imported, line in _imports(name, path):
            assert not imported.startswith("greenlane._core."), (
                f"{path}:{line} imports {imported}: import its names from greenlane._core"
            )


def test_every_import_points_to_its_layer_or_below() -> None:
    for module, imported in sorted((m, i) for m, deps in _graph().items() for i in deps):
        if imported == "greenlane" and module in FACADE_IMPORTERS:
            continue
        assert ORDER.index(_layer(imported)) <= ORDER.index(_layer(module)), (
            f"{module} ({_layer(module)}) imports {imported} ({_layer(imported)}): an upward import"
        )


def test_no_import_cycles() -> None:
    graph = _graph()
    for module in FACADE_IMPORTERS:
        graph[module].discard("greenlane")
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            cycle = [*path[path.index(module):], module]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if module in done:
            return
        for imported in sorted(graph[module]):
            visit(imported, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])


def test_the_layer_table_knows_every_module() -> None:
    for module in MODULES:
        _layer(module)


def test_only_core_switches_greenlets() -> None:
    for name, path in MODULES.items():
        if _layer(name) == "core":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            # A hub's own eventlet ``switch()`` parks through the core; a greenlet's switches.
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "switch" and not ast.unparse(node.func.value).endswith("hub")):
                raise AssertionError(f"{path}:{node.lineno} calls {ast.unparse(node.func)}")


def test_public_api_has_docstrings() -> None:
    import inspect

    for name in greenlane.__all__:
        obj = getattr(greenlane, name)
        if inspect.isfunction(obj) or inspect.isclass(obj) or inspect.ismodule(obj):
            assert inspect.getdoc(obj), f"greenlane.{name} has no docstring"
