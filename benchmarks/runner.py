"""``python -m benchmarks``: run every sample in a fresh worker, interleaved, and report.

Order: for each workload, ``samples`` rounds, each round one sample of every
available framework in column order (A B C A B C ...), so drift on a shared
machine spreads over all of them. Samples run one at a time, never in
parallel. Frameworks that do not import are probed first and reported as such.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final, TypeVar

from benchmarks import report
from benchmarks.frameworks import BY_NAME, REPO_ROOT, SUBJECT, Framework
from benchmarks.report import Outcome
from benchmarks.workloads import WORKLOADS, Workload

V = TypeVar("V")

# Odd, so the median is a sample. On 2 cores, quick (5 rounds, small sizes) takes
# about a minute; full (9 rounds of the five workloads) about 5 of its 10 minutes,
# leaving room for the workloads still to come.
DEFAULT_SAMPLES: Final = {"quick": 5, "full": 9}
# A full-size sample takes at most a few seconds; past this it is a hang.
SAMPLE_TIMEOUT_S: Final = 60.0
PROBE_TIMEOUT_S: Final = 30.0
RESULTS_DIR: Final = REPO_ROOT / "benchmarks" / "results"  # git-ignored
STDERR_TAIL_LINES: Final = 3


def _worker(*args: str) -> list[str]:
    return [sys.executable, "-m", "benchmarks.worker", *args]


def _last_json(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            try:
                record: dict[str, Any] = json.loads(line)
            except json.JSONDecodeError:
                return None
            return record
    return None


def _tail(stderr: str) -> str:
    return " / ".join(stderr.strip().splitlines()[-STDERR_TAIL_LINES:]) or "no stderr"


def probe(framework: str) -> dict[str, str]:
    """Whether ``framework`` imports in a fresh worker, and its version."""
    try:
        proc = subprocess.run(
            _worker("--probe", framework),
            check=False,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return {"status": "import failed", "detail": f"import hung for {PROBE_TIMEOUT_S:g} s"}
    record = _last_json(proc.stdout)
    if record is None:
        return {
            "status": "import failed",
            "detail": f"probe exit {proc.returncode}: {_tail(proc.stderr)}",
        }
    return {k: str(v) for k, v in record.items()}


def run_sample(framework: str, workload: Workload, size: int) -> tuple[Outcome, dict[str, Any]]:
    """One sample in a fresh process: the outcome, and the raw record to keep."""
    args = _worker(framework, workload.name, str(size))
    raw: dict[str, Any] = {"framework": framework, "workload": workload.name, "size": size}
    try:
        proc = subprocess.run(
            args,
            check=False,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=SAMPLE_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
        stdout, stderr, returncode = proc.stdout, proc.stderr, proc.returncode
        timed_out = False
    except subprocess.TimeoutExpired as exc:
        # On a timeout the captured output is bytes whatever text= says.
        stdout = _decode(exc.stdout)
        stderr = _decode(exc.stderr)
        returncode, timed_out = -1, True
    record = _last_json(stdout)
    if record is not None:
        raw.update(record)
    raw.update(returncode=returncode, timed_out=timed_out, stderr=stderr[-2000:])

    def outcome(problem: str | None, detail: str = "") -> tuple[Outcome, dict[str, Any]]:
        metrics = (record.get("metrics") or {}) if record else {}
        raw["problem"] = problem
        return Outcome(framework, workload.name, metrics, problem, detail), raw

    if record is None:
        if timed_out:
            return outcome("timeout", f"no result after {SAMPLE_TIMEOUT_S:g} s; {_tail(stderr)}")
        return outcome("crashed", f"exit {returncode} without a result: {_tail(stderr)}")
    if record.get("error"):
        return outcome("error", str(record["error"]))
    check = record["check"]
    if not check["ok"]:
        return outcome("check failed", f"got {check['got']}, expected {check['expected']}")
    if timed_out:
        return outcome(
            "no exit", f"printed its result but did not exit within {SAMPLE_TIMEOUT_S:g} s"
        )
    if returncode != 0:
        return outcome("bad exit", f"exit {returncode} after a good result: {_tail(stderr)}")
    return outcome(None)


def _decode(data: bytes | str | None) -> str:
    if isinstance(data, bytes):
        return data.decode(errors="replace")
    return data or ""


def _select(spec: str | None, known: Mapping[str, V], what: str) -> list[V]:
    if spec is None:
        return list(known.values())
    names = [name.strip() for name in spec.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SystemExit(f"unknown {what}: {', '.join(unknown)} (known: {', '.join(known)})")
    return [value for name, value in known.items() if name in names]  # keep report order


def _machine() -> str:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 0
    return (
        f"{platform.system()} {platform.machine()}, {cpus} CPUs, "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}"
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick", action="store_true", help="smaller sizes and 5 samples: about a minute"
    )
    parser.add_argument("--workloads", metavar="A,B", help=f"subset of {','.join(WORKLOADS)}")
    parser.add_argument("--frameworks", metavar="X,Y", help=f"subset of {','.join(BY_NAME)}")
    parser.add_argument(
        "--samples", type=int, metavar="N", help="samples per cell (default: quick 5, full 9)"
    )
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="also write the table here")
    parser.add_argument(
        "--chart",
        type=Path,
        metavar="FILE.png",
        help="also draw each workload's headline figure relative to greenlane "
        "(needs matplotlib: the bench extra)",
    )
    parser.add_argument(
        "--raw",
        type=Path,
        metavar="FILE",
        help="where to write every sample as JSON lines "
        "(default: benchmarks/results/<mode>-<time>.jsonl)",
    )
    args = parser.parse_args(argv)
    if args.samples is not None and args.samples < 1:
        parser.error("--samples must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    mode = "quick" if args.quick else "full"
    samples: int = args.samples or DEFAULT_SAMPLES[mode]
    workloads: list[Workload] = _select(args.workloads, WORKLOADS, "workload")
    frameworks: list[Framework] = _select(args.frameworks, BY_NAME, "framework")
    sizes = {w.name: w.sizes.get(mode) for w in workloads}

    versions: dict[str, str] = {}
    unavailable: dict[str, str] = {}
    for fw in frameworks:
        status = probe(fw.name)
        if status["status"] == "ok":
            origin = " (src/)" if status["origin"].startswith(str(REPO_ROOT)) else ""
            versions[fw.name] = status["version"] + origin
        else:
            unavailable[fw.name] = status["status"]
            versions[fw.name] = status["status"]
            if status["status"] != "not installed":
                versions[fw.name] += f" ({status.get('detail', '')})"
        print(f"{fw.name}: {versions[fw.name]}", file=sys.stderr)

    plan = [
        (workload, fw)
        for workload in workloads
        for _ in range(samples)
        for fw in frameworks
        if fw.name not in unavailable and fw.name in workload.implementations
    ]
    outcomes: list[Outcome] = []
    raws: list[dict[str, Any]] = []
    started = time.monotonic()
    for done, (workload, fw) in enumerate(plan, 1):
        outcome, raw = run_sample(fw.name, workload, sizes[workload.name])
        outcomes.append(outcome)
        raws.append(raw)
        headline = workload.metrics[0]
        shown = (
            f"{report.fmt_number(outcome.metrics[headline.key])} {headline.label}"
            if outcome.problem is None
            else f"{outcome.problem.upper()}: {outcome.detail}"
        )
        print(
            f"[{done:>3}/{len(plan)} {time.monotonic() - started:5.0f}s] "
            f"{workload.name:<12} {fw.name:<10} {shown}",
            file=sys.stderr,
            flush=True,
        )

    command = "python -m benchmarks " + shlex.join(sys.argv[1:] if argv is None else argv)
    header = report.Header(
        title=f"greenlane benchmarks ({mode})",
        command=command.strip(),
        samples=samples,
        machine=_machine(),
        sizes=sizes,
        versions=versions,
    )
    table = report.render(header, workloads, frameworks, unavailable, outcomes)
    print(table)
    if args.markdown:
        args.markdown.write_text(table, encoding="utf-8")
    if args.chart:
        report.chart(header, workloads, frameworks, outcomes, args.chart)
        print(f"chart: {args.chart}", file=sys.stderr)
    raw_path: Path = args.raw or RESULTS_DIR / f"{mode}-{time.strftime('%Y%m%dT%H%M%S')}.jsonl"
    raw_path.parent.mkdir(parents=True, exist_ok=True)
    with raw_path.open("w", encoding="utf-8") as f:
        f.writelines(json.dumps(raw) + "\n" for raw in raws)
    print(f"raw samples: {raw_path}", file=sys.stderr)
    failed = SUBJECT in unavailable or any(o.problem for o in outcomes)
    return 1 if failed else 0
