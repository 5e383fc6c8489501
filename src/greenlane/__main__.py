"""``python -m greenlane script.py [args]`` or ``python -m greenlane -m module [args]``.

Patches the stdlib (``greenlane.monkey_patch()``), then runs the target as
``__main__`` with ``sys.argv`` set as if it had been started directly.
"""

from __future__ import annotations

import os
import runpy
import sys

USAGE = "usage: python -m greenlane script.py [args ...] | -m module [args ...]"


def main(argv: list[str]) -> int:
    """Patch, then run ``argv``'s script or ``-m`` module as ``__main__``; returns an exit status."""
    if not argv or argv[0] in ("-h", "--help") or (argv[0] == "-m" and len(argv) < 2):
        print(USAGE, file=sys.stderr)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    import greenlane

    greenlane.monkey_patch()
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
