"""One sample in a fresh process: ``python -m benchmarks.worker FRAMEWORK WORKLOAD SIZE``.

Prints one JSON line per workload on stdout::

    {"framework": ..., "workload": ..., "size": ..., "figure": ..., "unit": ...,
     "metrics": {...}, "wall_s": ..., "cpu_s": ..., "check": {"ok": ..., "got": ...,
     "expected": ...}, "error": null}

WORKLOAD may be a comma-separated list, or ``all``; SIZE is a count or a preset
(``smoke``, ``quick``, ``full``: each workload's own size for that mode). The smoke
test runs ``FRAMEWORK all smoke``; the runner always runs one workload at an
explicit count. ``--probe FRAMEWORK`` prints whether the framework imports, and
its version. The exit status is 1 if any workload raised or failed its check.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from typing import Final

from benchmarks.frameworks import BY_NAME, describe
from benchmarks.workloads import WORKLOADS, Workload

# Named sizes a workload defines (``Sizes``); anything else must be a count.
PRESETS: Final = ("smoke", "quick", "full")


def run_one(framework: str, workload: Workload, size: int) -> dict[str, object]:
    """Run one workload and return its JSON record; an exception becomes ``error``."""
    record: dict[str, object] = {"framework": framework, "workload": workload.name, "size": size}
    headline = workload.metrics[0]
    try:
        sample = workload.implementations[framework](size)
    except Exception as exc:  # reported in the table, with the traceback on stderr
        traceback.print_exc()
        record["error"] = f"{type(exc).__name__}: {exc}"
        return record
    record.update(
        figure=sample.metrics[headline.key],
        unit=headline.label,
        metrics=dict(sample.metrics),
        wall_s=sample.wall_s,
        cpu_s=sample.cpu_s,
        check=sample.check.to_json(),
        error=None,
    )
    return record


def _size(text: str, workload: Workload) -> int:
    return workload.sizes.get(text) if text in PRESETS else int(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.worker",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--probe", action="store_true", help="only report whether it imports")
    parser.add_argument("framework", choices=list(BY_NAME))
    parser.add_argument("workloads", nargs="?", default="all")
    parser.add_argument("size", nargs="?", default="smoke", help=f"a count or one of {PRESETS}")
    args = parser.parse_args(argv)

    if args.probe:
        print(json.dumps({"framework": args.framework, **describe(args.framework)}), flush=True)
        return 0
    names = list(WORKLOADS) if args.workloads == "all" else args.workloads.split(",")
    unknown = [name for name in names if name not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {unknown}; known: {list(WORKLOADS)}")

    failed = False
    for name in names:
        workload = WORKLOADS[name]
        if args.framework not in workload.implementations:
            continue
        record = run_one(args.framework, workload, _size(args.size, workload))
        check = record.get("check")
        failed |= record["error"] is not None or not (isinstance(check, dict) and check["ok"])
        print(json.dumps(record), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
