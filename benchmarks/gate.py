"""The CI regression gate: greenlane / eventlet CPU ratios against a committed baseline.

``python -m benchmarks.gate`` measures a few CPU-bound workloads of the suite at
their quick sizes on greenlane and on eventlet, in the same job, and compares
each greenlane / eventlet ratio with ``benchmarks/baseline.json``. It never
looks at an absolute time: a slower CI machine slows both sides alike.

Why it is shaped this way (the machine may be shared and noisy):

- **CPU time, not wall time.** The figure is the process CPU time of the
  measured part (``cpu_s`` of the worker's record, at the same size on both
  sides): time spent descheduled while a neighbour runs is not charged to it.
- **Pairs, and their median.** Samples come in pairs, one greenlane and one
  eventlet, back to back in fresh processes, the order alternating from pair
  to pair; the ratio of a workload is the median of its per-pair ratios, so
  load that drifts over the run cancels out within a pair and one disturbed
  pair cannot move it. (The least of each side, as ``timeit`` takes, was
  tried: one lucky sample in the baseline then made a later run look 35%
  worse on a loaded machine.)
- **Two strikes.** A workload whose ratio is more than ``THRESHOLD`` worse than
  its baseline is measured again, from scratch; the gate fails only when the
  second measurement is over the line too.

``--slow-switch-us 2`` measures a copy of greenlane that busy-waits that long on
every greenlet switch (a ``greenlet.settrace`` hook appended to the copy's
``__init__``), and ``--demo`` runs the gate on such a copy and then on the real
package: it exits 0 only when the first fails and the second passes.
``--write-baseline`` records the ratios of this machine (use more ``--pairs``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from benchmarks.frameworks import REPO_ROOT, SRC_DIR, describe
from benchmarks.workloads import WORKLOADS

BASELINE: Final = REPO_ROOT / "benchmarks" / "baseline.json"
# CPU-bound workloads whose greenlane / eventlet ratio is stable; timers adds the heap.
GATE_WORKLOADS: Final = ("switch", "spawn_join", "yield_rr", "pool_map", "queue", "timers")
PEER: Final = "eventlet"
# A ratio more than 30% above its baseline is a regression (the rule).
THRESHOLD: Final = 1.30
DEFAULT_PAIRS: Final = 5
SAMPLE_TIMEOUT_S: Final = 60.0

# Appended to the copy's greenlane/__init__.py by --slow-switch-us: every greenlet
# switch (the hub's and the direct hand-offs alike) pays the busy-wait.
_SLOW_HOOK: Final = '''

def _gate_slow_switch(_event: str, _args: object, _spin: float = {seconds!r}) -> None:
    from time import perf_counter

    end = perf_counter() + _spin
    while perf_counter() < end:
        pass


__import__("greenlet").settrace(_gate_slow_switch)
'''


class GateError(RuntimeError):
    """A sample crashed or failed its check: the gate cannot judge."""


@dataclass(frozen=True, slots=True)
class Measurement:
    """One workload measured over ``len(ours)`` pairs: CPU seconds per sample, each side."""

    workload: str
    ours: tuple[float, ...]
    theirs: tuple[float, ...]

    @property
    def ratio(self) -> float:
        """The median of the per-pair ratios."""
        return statistics.median(self.pair_ratios)

    @property
    def pair_ratios(self) -> tuple[float, ...]:
        return tuple(a / b for a, b in zip(self.ours, self.theirs, strict=True))


def _worker(
    python: str, args: list[str], env: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run ``benchmarks.worker`` with ``args`` in a fresh process; its JSON lines."""
    proc = subprocess.run(
        [python, "-m", "benchmarks.worker", *args],
        check=False,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=SAMPLE_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    return proc, [line for line in proc.stdout.splitlines() if line.startswith("{")]


def _sample(python: str, framework: str, workload: str, env: dict[str, str]) -> float:
    """The CPU seconds of one worker run at the workload's quick size."""
    size = str(WORKLOADS[workload].sizes.quick)
    proc, lines = _worker(python, [framework, workload, size], env)
    if not lines:
        tail = " / ".join(proc.stderr.strip().splitlines()[-3:])
        raise GateError(f"{framework} {workload}: exit {proc.returncode}, no result: {tail}")
    record: dict[str, Any] = json.loads(lines[-1])
    if record.get("error") or not record["check"]["ok"]:
        raise GateError(f"{framework} {workload}: {record.get('error') or record['check']}")
    cpu: float = record["cpu_s"]
    return cpu


def measure(
    python: str, workload: str, pairs: int, subject_env: dict[str, str]
) -> Measurement:
    """``pairs`` interleaved greenlane / eventlet samples of one workload."""
    peer_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    ours_all, theirs_all = [], []
    for i in range(pairs):
        if i % 2 == 0:
            ours = _sample(python, "greenlane", workload, subject_env)
            theirs = _sample(python, PEER, workload, peer_env)
        else:
            theirs = _sample(python, PEER, workload, peer_env)
            ours = _sample(python, "greenlane", workload, subject_env)
        ours_all.append(ours)
        theirs_all.append(theirs)
    return Measurement(workload, tuple(ours_all), tuple(theirs_all))


def load_baseline(path: Path) -> dict[str, Any]:
    """The committed baseline; a missing workload in it is a clear error."""
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SystemExit(
            f"no baseline at {path}: run python -m benchmarks.gate --write-baseline"
        ) from None
    return data


def _fmt(ratios: Sequence[float]) -> str:
    return " ".join(f"{r:.3f}" for r in ratios)


def run_gate(
    python: str,
    baseline: dict[str, Any],
    workloads: Sequence[str],
    pairs: int,
    subject_env: dict[str, str],
) -> bool:
    """Measure, re-measure the offenders, print a verdict per workload; True if it passes."""
    passed = True
    for workload in workloads:
        base = float(baseline["ratios"][workload])
        limit = base * THRESHOLD
        first = measure(python, workload, pairs, subject_env)
        line = (
            f"{workload:<11} baseline {base:.3f}  limit {limit:.3f}  "
            f"measured {first.ratio:.3f} ({_fmt(first.pair_ratios)})"
        )
        if first.ratio <= limit:
            print(f"{line}  ok", flush=True)
            continue
        print(f"{line}  over: measuring again", flush=True)
        second = measure(python, workload, pairs, subject_env)
        verdict = "REGRESSION" if second.ratio > limit else "ok (first was noise)"
        print(
            f"{'':<11} again: {second.ratio:.3f} ({_fmt(second.pair_ratios)})  {verdict}",
            flush=True,
        )
        passed &= second.ratio <= limit
    return passed


def slowed_copy(root: Path, seconds: float, src_dir: Path | None) -> Path:
    """Copy greenlane (from ``src_dir``, else the one the gate measures) to ``root``, with a
    busy-wait of ``seconds`` on every switch; return the copy's source directory."""
    src = root / "src"
    package = src / "greenlane"
    origin = src_dir / "greenlane" if src_dir is not None else _greenlane_dir()
    shutil.copytree(origin, package, ignore=shutil.ignore_patterns("__pycache__"))
    with (package / "__init__.py").open("a", encoding="utf-8") as f:
        f.write(_SLOW_HOOK.format(seconds=seconds))
    return src


def _greenlane_dir() -> Path:
    """The package the gate measures by default: the installed one, else ``src/``."""
    origin = describe("greenlane").get("origin", "")
    return Path(origin).parent if origin.endswith("__init__.py") else SRC_DIR / "greenlane"


def _subject_env(src: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    return env


def _origin(python: str, env: dict[str, str]) -> str:
    proc, lines = _worker(python, ["--probe", "greenlane"], env)
    record: dict[str, str] = json.loads(lines[-1]) if lines else {}
    return f"greenlane {record.get('version', '?')} from {record.get('origin', proc.stderr)}"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.gate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--baseline", type=Path, default=BASELINE, help="default: %(default)s")
    parser.add_argument(
        "--workloads", default=",".join(GATE_WORKLOADS), help="default: %(default)s"
    )
    parser.add_argument("--pairs", type=int, default=DEFAULT_PAIRS, help="default: %(default)s")
    parser.add_argument("--python", default=sys.executable, help="interpreter of the workers")
    parser.add_argument(
        "--src", type=Path, help="measure the greenlane under this directory (on PYTHONPATH)"
    )
    parser.add_argument(
        "--slow-switch-us",
        type=float,
        metavar="US",
        help="measure a copy of greenlane that busy-waits US microseconds per switch",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="the gate must fail on a copy slowed by 2 us per switch, then pass on the real one",
    )
    parser.add_argument(
        "--write-baseline", action="store_true", help="record this machine's ratios instead"
    )
    args = parser.parse_args(argv)
    unknown = [w for w in args.workloads.split(",") if w not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workloads {unknown}; known: {list(WORKLOADS)}")
    if args.pairs < 1:
        parser.error(f"--pairs must be at least 1, got {args.pairs}")
    return args


def write_baseline(args: argparse.Namespace, workloads: Sequence[str]) -> int:
    env = _subject_env(args.src)
    ratios = {}
    spread = {}
    for workload in workloads:
        m = measure(args.python, workload, args.pairs, env)
        ratios[workload] = round(m.ratio, 4)
        pairs = m.pair_ratios
        spread[workload] = [round(min(pairs), 4), round(max(pairs), 4)]
        print(f"{workload:<11} {m.ratio:.3f} (pairs: {_fmt(pairs)})", flush=True)
    data = {
        "what": "greenlane / eventlet process CPU time of the measured part at quick sizes, "
        "median of the ratios of interleaved pairs (python -m benchmarks.gate --write-baseline); "
        "min_max: the spread of the per-pair ratios",
        "eventlet": describe(PEER).get("version", "?"),
        "python": ".".join(map(str, sys.version_info[:2])),
        "pairs": args.pairs,
        "date": time.strftime("%Y-%m-%d"),
        "ratios": ratios,
        "min_max": spread,
    }
    args.baseline.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.baseline}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    workloads = args.workloads.split(",")
    if args.write_baseline:
        return write_baseline(args, workloads)
    baseline = load_baseline(args.baseline)
    missing = [w for w in workloads if w not in baseline["ratios"]]
    if missing:
        raise SystemExit(f"{args.baseline} has no ratio for {missing}")
    peer = describe(PEER).get("version", "not installed")
    if peer != baseline.get("eventlet"):
        print(f"note: eventlet {peer} here, the baseline was measured on {baseline['eventlet']}")
    here = ".".join(map(str, sys.version_info[:2]))
    if here != baseline.get("python"):
        print(f"note: Python {here} here, the baseline was measured on {baseline.get('python')}")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="greenlane-gate.") as tmp:
        runs: list[tuple[str, Path | None, bool]] = []  # (title, src, must pass)
        if args.demo:
            slow = slowed_copy(Path(tmp), 2e-6, args.src)
            runs = [("copy slowed by 2 us per switch", slow, False), ("as is", args.src, True)]
        elif args.slow_switch_us is not None:
            slow = slowed_copy(Path(tmp), args.slow_switch_us * 1e-6, args.src)
            runs = [(f"copy slowed by {args.slow_switch_us:g} us per switch", slow, True)]
        else:
            runs = [("as is", args.src, True)]
        as_expected = True
        for title, src, must_pass in runs:
            env = _subject_env(src)
            print(f"== gate: {title}: {_origin(args.python, env)}; eventlet {peer}", flush=True)
            t0 = time.monotonic()
            passed = run_gate(args.python, baseline, workloads, args.pairs, env)
            verdict = "passed" if passed else "FAILED"
            print(f"== gate {verdict} ({time.monotonic() - t0:.0f} s)", flush=True)
            as_expected &= passed == must_pass
    if args.demo:
        outcome = "fired on the slowed copy and passed on the real one" if as_expected else (
            "did NOT behave: see above"
        )
        print(f"== demo: the gate {outcome} ({time.monotonic() - started:.0f} s in all)")
    return 0 if as_expected else 1


if __name__ == "__main__":
    sys.exit(main())
