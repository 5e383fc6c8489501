"""``python -m greenlane [--eventlet] [--patch|--no-patch] script.py [args]`` (or ``-m module``).

Runs the target as ``__main__`` with ``sys.argv`` set as if it had been
started directly. By default the stdlib is patched first
(``greenlane.monkey_patch()``). With ``--eventlet``, ``import eventlet``
resolves to greenlane (``greenlane.patcher.alias_eventlet``) and nothing is
patched up front, as under eventlet: the program's own
``eventlet.monkey_patch(...)`` call decides (``--patch`` patches everything
first anyway).
"""

from __future__ import annotations

import os
import runpy
import sys

USAGE = """\
usage: python -m greenlane [--eventlet] [--patch | --no-patch] script.py [args ...]
       python -m greenlane [--eventlet] [--patch | --no-patch] -m module [args ...]

  --eventlet   make `import eventlet` resolve to greenlane; implies --no-patch
  --patch      call greenlane.monkey_patch() before running the target (the default)
  --no-patch   do not patch: the target patches what it wants"""

_OPTIONS = ("--eventlet", "--patch", "--no-patch")


def main(argv: list[str]) -> int:
    """Alias and/or patch, then run ``argv``'s script or ``-m`` module as ``__main__``; returns the status."""
    options: list[str] = []
    while argv and argv[0] in _OPTIONS:
        options.append(argv.pop(0))
    if not argv or argv[0] in ("-h", "--help") or (argv[0] == "-m" and len(argv) < 2):
        print(USAGE, file=sys.stderr)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    if argv[0].startswith("--"):
        print(f"unknown option {argv[0]!r}\n{USAGE}", file=sys.stderr)
        return 2
    eventlet = "--eventlet" in options
    patch = not eventlet
    for option in options:  # the last of --patch / --no-patch wins
        if option in ("--patch", "--no-patch"):
            patch = option == "--patch"
    from greenlane import patcher

    if eventlet:
        patcher.alias_eventlet()
    if patch:
        patcher.monkey_patch()
    if argv[0] == "-m":
        module = argv[1]
        sys.argv = [module, *argv[2:]]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    else:
        script = argv[0]
        sys.argv = list(argv)
        sys.path[0] = os.path.dirname(os.path.abspath(script))
        runpy.run_path(script, run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
