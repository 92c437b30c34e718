"""PNG plots of a run, drawn with matplotlib's object API on the Agg canvas (no pyplot, no display, no
global backend switch that would affect whoever else uses matplotlib in the process)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

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


COST_UNIT = "price units"  # the replica's price per second x the seconds a request keeps it busy


def latency_over_time(
    run: RunResult,
    path: Path,
    phase_rates: dict[str, float] | None = None,
    deadlines: dict[str, float] | None = None,
) -> Path:
    """Latency per request against its intended send time, one panel per consumer, a colour per algorithm;
    the burst phase is shaded, events (a killed service, ...) are vertical lines, the consumer's deadline is
    a horizontal line, and unanswered requests are crosses in a strip above the panel (they have no latency)."""
    consumers = sorted({r.consumer for r in run.results}) or ["-"]
    algorithms = sorted({r.algorithm for r in run.results})
    figure = Figure(figsize=(11, 3.6 * len(consumers)), layout="constrained")
    grid = figure.subplots(
        2 * len(consumers), 1, squeeze=False, gridspec_kw={"height_ratios": [1, 6] * len(consumers)}
    )[:, 0]
    burst = _burst(run, phase_rates or {})
    colours = {name: f"C{i % 10}" for i, name in enumerate(algorithms)}
    for number, consumer in enumerate(consumers):
        strip, axis = grid[2 * number], grid[2 * number + 1]
        strip.sharex(axis)
        mine = [r for r in run.results if r.consumer == consumer]
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
                strip.scatter(
                    [r.intended_s for r in lost],
                    [algorithms.index(algorithm)] * len(lost),
                    marker="x",
                    s=14,
                    color=colours[algorithm],
                )
        strip.set_ylim(-1, len(algorithms))
        strip.set_yticks([])
        strip.set_ylabel("no\nanswer", rotation=0, ha="right", va="center", fontsize=7)
        strip.tick_params(labelbottom=False)
        strip.set_title(f"{consumer}: latency from the intended send time", fontsize=10)
        deadline = (deadlines or {}).get(consumer)
        if deadline is not None:
            axis.axhline(deadline, color="red", linewidth=1.0, label=f"deadline {deadline:g} ms")
        for name, start, end in run.phases:
            if name == burst:
                axis.axvspan(
                    start, end, color="red", alpha=0.08, label="burst" if name == "burst" else f"burst: {name}"
                )
        for event in run.events:
            at = event.get("at_s")
            if isinstance(at, int | float):
                for target in (axis, strip):
                    target.axvline(float(at), color="black", linestyle="--", linewidth=0.8)
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
        answered = any(r.is_answered and r.latency_ms for r in mine)
        if answered:
            axis.set_yscale("log")
        else:  # nothing to put on a log scale: say so instead of drawing an empty, misleading axis
            axis.text(0.5, 0.5, "no answered request", transform=axis.transAxes, ha="center", va="center")
        axis.set_xlabel("seconds into the run")
        axis.set_ylabel("latency (ms, log)" if answered else "latency (ms)")
        axis.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _save(figure, path)


def accuracy_vs_cost(rows: Sequence[SummaryRow], path: Path) -> Path:
    """Accuracy against mean cost per answered request, a point per consumer x algorithm: colour = algorithm,
    marker = consumer, both in legends (labels next to the points would overlap)."""
    figure = Figure(figsize=(8, 5), layout="constrained")
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
            s=50,
            alpha=0.8,
        )
    colour_keys = [
        Line2D([], [], linestyle="", marker="o", color=f"C{i % 10}", label=name) for i, name in enumerate(algorithms)
    ]
    marker_keys = [
        Line2D([], [], linestyle="", marker=markers[i % len(markers)], color="grey", label=name)
        for i, name in enumerate(consumers)
    ]
    # Figure legends placed "outside" take part in the constrained layout, so neither is cut off.
    figure.legend(handles=colour_keys, title="algorithm", fontsize=7, loc="outside right upper")
    figure.legend(handles=marker_keys, title="consumer", fontsize=7, loc="outside right lower")
    axis.ticklabel_format(axis="x", style="sci", scilimits=(-3, 3))
    axis.set_title("accuracy vs cost per consumer x algorithm")
    axis.set_xlabel(f"mean cost per answered request ({COST_UNIT}: replica price x busy seconds)")
    axis.set_ylabel("accuracy (vs ground truth, answered requests)")
    return _save(figure, path)


def deadline_miss(rows: Sequence[SummaryRow], path: Path) -> Path:
    """Deadline-miss ratio per algorithm, one bar per consumer, split into answered late (solid) and no answer
    at all (hatched: errors, rejected or dropped requests count as misses)."""
    figure = Figure(figsize=(9, 4.5), layout="constrained")
    axis = figure.subplots()
    consumers = sorted({r.consumer for r in rows})
    algorithms = sorted({r.algorithm for r in rows})
    width = 0.8 / max(1, len(consumers))
    for c, consumer in enumerate(consumers):
        mine = {r.algorithm: r for r in rows if r.consumer == consumer}
        xs = [a + c * width for a in range(len(algorithms))]
        lost = [_lost(mine.get(name)) for name in algorithms]
        late = [
            max(0.0, (mine[name].deadline_miss_ratio if name in mine else 0.0) - gone)
            for name, gone in zip(algorithms, lost, strict=True)
        ]
        colour = f"C{c % 10}"
        axis.bar(xs, late, width=width, color=colour, label=f"{consumer}: answered late")
        axis.bar(
            xs,
            lost,
            width=width,
            bottom=late,
            color="white",
            edgecolor=colour,
            hatch="///",
            label=f"{consumer}: no answer (error, rejected, dropped)",
        )
    axis.set_xticks([a + 0.4 - width / 2 for a in range(len(algorithms))], algorithms, rotation=20, fontsize=8)
    axis.set_ylim(0, 1)
    axis.set_ylabel("share of requests missing the deadline")
    axis.set_title("deadline misses per algorithm (unanswered requests count as misses)")
    axis.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return _save(figure, path)


def _lost(row: SummaryRow | None) -> float:
    if row is None or row.requests == 0:
        return 0.0
    return (row.errors + row.dropped) / row.requests
