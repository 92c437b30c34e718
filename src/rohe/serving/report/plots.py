"""PNG plots of a run, drawn with matplotlib's object API on the Agg canvas (no pyplot, no display, no
global backend switch that would affect whoever else uses matplotlib in the process)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from rohe.serving.loadgen.results import RunResult, SummaryRow

_DPI = 110


def _save(figure: Figure, path: Path) -> Path:
    FigureCanvasAgg(figure)
    figure.savefig(path, dpi=_DPI)
    return path


def _burst(run: RunResult, rates: dict[str, float]) -> str | None:
    """The phase with the highest offered rate, when it stands out from the others."""
    if len(rates) < 2:
        return None
    top = max(rates, key=lambda name: rates[name])
    return top if rates[top] > min(rates.values()) else None


def _short(event: str) -> str:
    """`supervisor: oc-knn restarted` -> `restarted`; `killed oc-knn` -> `killed oc-knn`."""
    return event.rsplit(" ", 1)[-1] if event.startswith("supervisor:") else event


def latency_over_time(run: RunResult, path: Path, phase_rates: dict[str, float] | None = None) -> Path:
    """Latency per request against its intended send time, one panel per consumer, a colour per algorithm;
    the burst phase is shaded, events (a killed service, ...) are vertical lines, unanswered requests are
    crosses along the top."""
    consumers = sorted({r.consumer for r in run.results}) or ["-"]
    algorithms = sorted({r.algorithm for r in run.results})
    figure = Figure(figsize=(10, 3.2 * len(consumers)), layout="constrained")
    axes = figure.subplots(len(consumers), 1, squeeze=False)[:, 0]
    burst = _burst(run, phase_rates or {})
    colours = {name: f"C{i % 10}" for i, name in enumerate(algorithms)}
    for axis, consumer in zip(axes, consumers, strict=True):
        mine = [r for r in run.results if r.consumer == consumer]
        answered = [r.latency_ms for r in mine if r.is_answered and r.latency_ms]
        top = max(answered, default=1.0) * 1.5
        for algorithm in algorithms:
            points = [r for r in mine if r.algorithm == algorithm and r.is_answered and r.latency_ms]
            axis.scatter(
                [r.intended_s for r in points],
                [r.latency_ms for r in points],
                s=6,
                color=colours[algorithm],
                label=algorithm,
                alpha=0.7,
            )
            lost = [r for r in mine if r.algorithm == algorithm and not r.is_answered]
            if lost:
                axis.scatter(
                    [r.intended_s for r in lost], [top] * len(lost), marker="x", s=14, color=colours[algorithm]
                )
        for name, start, end in run.phases:
            if name == burst:
                axis.axvspan(
                    start, end, color="red", alpha=0.08, label="burst" if name == "burst" else f"burst: {name}"
                )
        for event in run.events:
            at = event.get("at_s")
            if isinstance(at, int | float):
                axis.axvline(float(at), color="black", linestyle="--", linewidth=0.8)
                # x in seconds, y as a fraction of the panel: the label stays visible whatever the latencies.
                axis.text(
                    float(at),
                    0.03,
                    _short(str(event.get("event", ""))),
                    transform=axis.get_xaxis_transform(),
                    fontsize=6,
                    rotation=90,
                    va="bottom",
                    ha="right",
                )
        axis.set_yscale("log")
        axis.set_title(f"{consumer}: latency from the intended send time (x = no answer)")
        axis.set_xlabel("seconds into the run")
        axis.set_ylabel("ms")
        axis.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _save(figure, path)


def accuracy_vs_cost(rows: Sequence[SummaryRow], path: Path) -> Path:
    """Accuracy against mean cost per answered request, a point per consumer x algorithm."""
    figure = Figure(figsize=(7, 5), layout="constrained")
    axis = figure.subplots()
    consumers = sorted({r.consumer for r in rows})
    markers = ["o", "s", "^", "D", "v"]
    algorithms = sorted({r.algorithm for r in rows})
    for row in rows:
        if row.accuracy is None:
            continue
        axis.scatter(
            row.cost_mean or 0.0,
            row.accuracy,
            marker=markers[consumers.index(row.consumer) % len(markers)],
            color=f"C{algorithms.index(row.algorithm) % 10}",
            s=40,
        )
        axis.annotate(f"{row.algorithm} ({row.consumer})", (row.cost_mean or 0.0, row.accuracy), fontsize=7)
    axis.set_title("accuracy vs cost per algorithm (marker = consumer)")
    axis.set_xlabel("mean cost per answered request")
    axis.set_ylabel("accuracy (vs ground truth)")
    return _save(figure, path)


def deadline_miss(rows: Sequence[SummaryRow], path: Path) -> Path:
    """Deadline-miss ratio per algorithm, one bar per consumer."""
    figure = Figure(figsize=(8, 4), layout="constrained")
    axis = figure.subplots()
    consumers = sorted({r.consumer for r in rows})
    algorithms = sorted({r.algorithm for r in rows})
    width = 0.8 / max(1, len(consumers))
    for c, consumer in enumerate(consumers):
        ratios = {r.algorithm: r.deadline_miss_ratio for r in rows if r.consumer == consumer}
        xs = [a + c * width for a in range(len(algorithms))]
        axis.bar(xs, [ratios.get(name, 0.0) for name in algorithms], width=width, label=consumer)
    axis.set_xticks([a + 0.4 - width / 2 for a in range(len(algorithms))], algorithms, rotation=20, fontsize=8)
    axis.set_ylim(0, 1)
    axis.set_ylabel("share of requests past the deadline")
    axis.set_title("deadline-miss ratio per algorithm")
    axis.legend(fontsize=8)
    return _save(figure, path)
