"""Turn the samples of a run into Markdown: medians with min-max, then greenlane / peer ratios.

A cell whose samples did not all pass says so (``check failed 1/3``, ``error 3/3``)
instead of showing a number, and the details are listed under the tables: a
failed check is shown, never hidden.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.frameworks import SUBJECT, Framework
from benchmarks.workloads import Metric, Workload

NOT_APPLICABLE = "-"  # the workload has no function for this framework


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the runner learned from one worker process."""

    framework: str
    workload: str
    metrics: Mapping[str, float]
    problem: str | None = None  # None: ran and passed its check; else a short kind
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Header:
    """Everything the reader needs to reproduce or weigh the run."""

    title: str
    command: str
    samples: int
    machine: str
    sizes: Mapping[str, int]  # workload name -> size used
    versions: Mapping[str, str]  # framework name -> version, or why it did not run


def fmt_number(value: float) -> str:
    """About three significant figures, thousands separated: 5,302 / 27.4 / 0.72."""
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


class Cell:
    """The samples of one (workload, framework) pair."""

    def __init__(self, outcomes: Sequence[Outcome]) -> None:
        self.outcomes = outcomes
        self.problems = [o for o in outcomes if o.problem is not None]

    def median(self, metric: Metric) -> float | None:
        """The median, or None when any sample failed (its number proves nothing)."""
        if self.problems or not self.outcomes:
            return None
        return statistics.median(o.metrics[metric.key] for o in self.outcomes)

    def render(self, metric: Metric) -> str:
        if not self.outcomes:
            return "no samples"
        if self.problems:
            kinds = sorted({p.problem for p in self.problems if p.problem})
            return f"**{' / '.join(kinds)} {len(self.problems)}/{len(self.outcomes)}**"
        values = [o.metrics[metric.key] for o in self.outcomes]
        median = fmt_number(statistics.median(values))
        if len(values) == 1:
            return median
        return f"{median} ({fmt_number(min(values))}-{fmt_number(max(values))})"


def _row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _figure(metric: Metric) -> str:
    return metric.label + (" (higher is better)" if metric.higher_is_better else "")


def render(
    header: Header,
    workloads: Sequence[Workload],
    frameworks: Sequence[Framework],
    unavailable: Mapping[str, str],
    outcomes: Sequence[Outcome],
) -> str:
    """The whole report. ``unavailable`` maps a framework to what its cells say instead."""
    by_pair: dict[tuple[str, str], list[Outcome]] = {}
    for outcome in outcomes:
        by_pair.setdefault((outcome.workload, outcome.framework), []).append(outcome)

    def cell(workload: Workload, framework: Framework) -> Cell | str:
        if framework.name in unavailable:
            return unavailable[framework.name]
        if framework.name not in workload.implementations:
            return NOT_APPLICABLE
        return Cell(by_pair.get((workload.name, framework.name), []))

    plural = "" if header.samples == 1 else "s"
    lines = [
        f"### {header.title}",
        "",
        f"`{header.command}`: {header.samples} sample{plural} per cell, each in a fresh "
        f"process, frameworks interleaved; {header.machine}.",
        "",
        "Median (min-max) over the samples; lower is better unless marked.",
        "",
        _row(["workload (size)", "figure", *(fw.label for fw in frameworks)]),
        _row(["---", "---", *("---:" for _ in frameworks)]),
    ]
    for workload in workloads:
        size = f"{header.sizes[workload.name]:,}"
        for metric in workload.metrics:
            cells = [cell(workload, fw) for fw in frameworks]
            rendered = [c.render(metric) if isinstance(c, Cell) else c for c in cells]
            lines.append(_row([f"{workload.name} ({size})", _figure(metric), *rendered]))

    peers = [fw for fw in frameworks if fw.name != SUBJECT]
    if peers and any(fw.name == SUBJECT for fw in frameworks):
        lines += [
            "",
            f"{SUBJECT} / peer, ratio of medians (below 1x: {SUBJECT} is lower, i.e. better "
            "unless the figure is marked higher-is-better).",
            "",
            _row(["workload", "figure", *(f"{SUBJECT}/{fw.name}" for fw in peers)]),
            _row(["---", "---", *("---:" for _ in peers)]),
        ]
        subject = next(fw for fw in frameworks if fw.name == SUBJECT)
        for workload in workloads:
            ours = cell(workload, subject)
            for metric in workload.metrics:
                ratios = []
                for fw in peers:
                    theirs = cell(workload, fw)
                    a = ours.median(metric) if isinstance(ours, Cell) else None
                    b = theirs.median(metric) if isinstance(theirs, Cell) else None
                    ratios.append(f"{a / b:.2f}x" if a is not None and b else "n/a")
                lines.append(_row([workload.name, _figure(metric), *ratios]))

    lines += ["", "Workloads:"]
    lines += [f"- {w.name} ({header.sizes[w.name]:,}): {w.description}" for w in workloads]
    lines += ["", "Versions: " + ", ".join(f"{k} {v}" for k, v in header.versions.items()) + "."]

    problems = [o for o in outcomes if o.problem is not None]
    if problems:
        lines += ["", "Failures (a cell with any failed sample shows no figure and no ratio):"]
        lines += [f"- {o.framework} / {o.workload}: {o.problem}: {o.detail}" for o in problems]
    return "\n".join(lines) + "\n"


def relative_costs(
    workloads: Sequence[Workload],
    frameworks: Sequence[Framework],
    outcomes: Sequence[Outcome],
) -> list[tuple[str, dict[str, float]]]:
    """Per headline figure, each framework's cost relative to greenlane's (1.0 = as greenlane).

    Above 1 the framework is worse than greenlane: its median over greenlane's for a
    lower-is-better figure, greenlane's over its own for a higher-is-better one. Cells
    with a failed sample, or without samples, are left out.
    """
    by_pair: dict[tuple[str, str], list[Outcome]] = {}
    for outcome in outcomes:
        by_pair.setdefault((outcome.workload, outcome.framework), []).append(outcome)
    rows = []
    for workload in workloads:
        metric = workload.metrics[0]
        ours = Cell(by_pair.get((workload.name, SUBJECT), [])).median(metric)
        if not ours:
            continue
        costs = {}
        for fw in frameworks:
            theirs = Cell(by_pair.get((workload.name, fw.name), [])).median(metric)
            if theirs:
                costs[fw.name] = ours / theirs if metric.higher_is_better else theirs / ours
        rows.append((f"{workload.name}\n{_figure(metric)}", costs))
    return rows


def chart(
    header: Header,
    workloads: Sequence[Workload],
    frameworks: Sequence[Framework],
    outcomes: Sequence[Outcome],
    path: Path,
) -> None:
    """Write a PNG bar chart of ``relative_costs`` (needs matplotlib: the ``bench`` extra)."""
    try:
        import matplotlib
    except ImportError as exc:
        raise SystemExit(
            f"--chart {path} needs matplotlib (pip install 'greenlane[bench]'): {exc}"
        ) from None
    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    rows = relative_costs(workloads, frameworks, outcomes)
    # greenlane itself is the line at 1.
    shown = [
        fw
        for fw in frameworks
        if fw.name != SUBJECT and any(fw.name in costs for _, costs in rows)
    ]
    height = 0.8 / max(len(shown), 1)
    fig, ax = plt.subplots(figsize=(10, 0.9 + 0.75 * len(rows) * max(len(shown), 1) / 3))
    for i, fw in enumerate(shown):
        ys = [r - 0.4 + height * (i + 0.5) for r, (_, costs) in enumerate(rows) if fw.name in costs]
        xs = [costs[fw.name] for _, costs in rows if fw.name in costs]
        ax.barh(ys, xs, height=height, label=fw.label)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda x, _: f"{x:g}x"))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xticks([0.125, 0.25, 0.5, 1, 2, 4, 8])
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_yticks(range(len(rows)), [label for label, _ in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"cost relative to {SUBJECT} (log scale; above 1: {SUBJECT} is better)")
    ax.set_title(f"{header.title}: median of {header.samples} samples\n{header.machine}", fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
