"""Observation reports: rich summary and incident tables, and a self-contained HTML page with plots, violations
and incidents."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.table import Table

from rohe.core.errors import InvalidInput, Problem
from rohe.observation.evaluation.clauses import builtin_metric
from rohe.observation.metrics import WindowMetrics
from rohe.observation.reporting.html import page
from rohe.observation.reporting.incidents import incidents_table
from rohe.observation.reporting.plots import metric_plot
from rohe.observation.reporting.summary import ConsumerSummary, one_kind, summarise, summary_table
from rohe.observation.violations import Violation
from rohe.quality.diagnosis import Incident

# (title, y label, metric name, Violation.metric values marked on it)
_PLOTS = (
    ("End-to-end latency p99", "ms", "response_time_p99_ms", ("end_to_end.p99_ms",)),
    ("Accuracy (labelled requests)", "accuracy", "accuracy", ("accuracy",)),
    ("Throughput", "req/s", "throughput_rps", ("throughput_rps",)),
)


@dataclass(frozen=True)
class ObservationReport:
    app: str
    table: Table
    html_path: Path | None
    consumers: list[ConsumerSummary] = field(default_factory=list)
    plots: list[str] = field(default_factory=list)  # titles of the plots in the page
    incidents: Table | None = None  # the incidents table, when any incident was given


def build_report(app: str, windows: Sequence[WindowMetrics], violations: Sequence[Violation],
                 out_dir: Path | None, incidents: Sequence[Incident] = ()) -> ObservationReport:
    """Summarise `windows`, `violations` and `incidents` of `app`; with `out_dir`, also write
    `<out_dir>/<app>-report.html`."""
    rows = summarise(windows, violations)
    table = summary_table(app, rows)
    # The terminal table leaves narratives out (they are paragraphs); `rohe observation incidents` shows them.
    shown = incidents_table(app, incidents, narratives=False) if incidents else None
    if out_dir is None:
        return ObservationReport(app, table, None, rows, incidents=shown)
    chosen = one_kind(windows)
    plots: list[tuple[str, str]] = []
    for title, ylabel, metric, marked in _PLOTS:
        reader = builtin_metric(metric, "report").extract
        png = metric_plot(title, ylabel, chosen, reader, [v for v in violations if v.metric in marked])
        if png is not None:
            plots.append((title, png))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"{app}-report.html"
        path.write_text(page(app, rows, plots, violations, incidents), encoding="utf-8")
    except OSError as exc:
        raise InvalidInput("cannot write the report", [
            Problem("--out", f"{out_dir}: {exc.strerror or exc}", "choose a writable directory")]) from None
    return ObservationReport(app, table, path, rows, [title for title, _ in plots], shown)


__all__ = ["ConsumerSummary", "ObservationReport", "build_report"]
