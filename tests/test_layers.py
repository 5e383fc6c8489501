"""Imports point down only: _core uses the stdlib and greenlet alone; nothing but _core switches greenlets."""

from __future__ import annotations

import ast
from pathlib import Path

import greenlane

PACKAGE = Path(greenlane.__file__).parent
STDLIB_AND_GREENLET = {"greenlet", "__future__"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[: -node.level])
                names.add(f"{base}.{node.module}" if node.module else base)
            elif node.module:
                names.add(node.module)
    return names


def test_core_imports_only_stdlib_greenlet_and_itself() -> None:
    import sys

    for path in (PACKAGE / "_core").glob("*.py"):
        for name in _imports(path):
            top = name.split(".")[0]
            if top == "greenlane":
                assert name.startswith("greenlane._core"), f"{path.name} imports {name} (an upper layer)"
            else:
                assert top in STDLIB_AND_GREENLET or top in sys.stdlib_module_names, (
                    f"{path.name} imports {name}: _core may use only the stdlib and greenlet"
                )


def test_only_core_switches_greenlets() -> None:
    for path in PACKAGE.rglob("*.py"):
        if "_core" in path.parts:
            continue
        source = path.read_text()
        assert ".switch(" not in source, f"{path} calls greenlet.switch directly"


def test_public_api_has_docstrings() -> None:
    import inspect

    for name in greenlane.__all__:
        obj = getattr(greenlane, name)
        if inspect.isfunction(obj) or inspect.isclass(obj) or inspect.ismodule(obj):
            assert inspect.getdoc(obj), f"greenlane.{name} has no docstring"
