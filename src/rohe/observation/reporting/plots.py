"""PNG plots of metrics over windows with violations marked, as base64 strings for a self-contained page.

Figures are drawn with matplotlib's object API on the Agg canvas (no pyplot, no global state), so building a
report from a server thread is safe.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Sequence
from datetime import datetime

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from rohe.observation.metrics import ALL_CONSUMERS, WindowMetrics
from rohe.observation.violations import Violation

Reader = Callable[[WindowMetrics], float | None]


def _days(moment: datetime) -> float:
    # matplotlib's date unit: days since its epoch, 1970-01-01 by default (matplotlib.dates.date2num, untyped).
    return moment.timestamp() / 86400.0


def _png(figure: Figure) -> str:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def metric_plot(title: str, ylabel: str, windows: Sequence[WindowMetrics], read: Reader,
                violations: Sequence[Violation], threshold: float | None = None) -> str | None:
    """One line per consumer; violations of this metric marked at their window end. None when nothing to plot."""
    series: dict[str, tuple[list[float], list[float]]] = {}
    for window in sorted(windows, key=lambda w: w.end):
        value = read(window)
        if value is not None:
            xs, ys = series.setdefault(window.consumer, ([], []))
            xs.append(_days(window.end))
            ys.append(value)
    if not series:
        return None
    figure = Figure(figsize=(9, 3.2))
    axes = figure.add_subplot()
    for consumer, (xs, ys) in sorted(series.items()):
        axes.plot(xs, ys, marker=".", linewidth=1, label="all consumers" if consumer == ALL_CONSUMERS else consumer)
    if violations:
        ends = [_days(v.window_end) for v in violations]
        observed = [v.observed if v.observed is not None else v.threshold for v in violations]
        axes.scatter(ends, observed, color="red", marker="x", s=60, zorder=5, label="violation")
    if threshold is not None:
        axes.axhline(threshold, color="grey", linestyle="--", linewidth=1, label="contract")
    axes.xaxis_date()
    axes.set_title(title)
    axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3)
    axes.legend(loc="best", fontsize="small")
    figure.autofmt_xdate()
    return _png(figure)
