"""The run summary as a Rich table: one row per consumer x algorithm."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from rohe.serving.loadgen.results import SummaryRow


def _cell(value: float | None, pattern: str) -> str:
    return "-" if value is None else format(value, pattern)


def summary_table(rows: Sequence[SummaryRow], title: str = "serving run: per consumer x algorithm") -> Table:
    table = Table(
        title=title,
        caption="latency from the intended send time; accuracy = predicted vs ground truth over answered requests",
    )
    table.add_column("consumer", no_wrap=True)
    table.add_column("algorithm", no_wrap=True)
    for column in (
        "requests",
        "ok/partial/err/drop",
        "offered/s",
        "achieved/s",
        "p50 ms",
        "p99 ms",
        "deadline miss",
        "accuracy",
        "ensemble",
        "cost",
    ):
        table.add_column(column, justify="right", no_wrap=True)
    for row in rows:
        miss_colour = (
            "green" if row.deadline_miss_ratio <= 0.05 else "yellow" if row.deadline_miss_ratio < 0.2 else "red"
        )
        table.add_row(
            row.consumer,
            row.algorithm,
            str(row.requests),
            f"{row.ok}/{row.partial}/{row.errors}/{row.dropped}",
            f"{row.offered_rps:.1f}",
            f"{row.achieved_rps:.1f}",
            _cell(row.latency_p50_ms, ".1f"),
            _cell(row.latency_p99_ms, ".1f"),
            f"[{miss_colour}]{row.deadline_miss_ratio:.1%}[/]",
            _cell(row.accuracy, ".3f"),
            _cell(row.ensemble_size_mean, ".2f"),
            f"{row.cost_total:.4g}",
        )
    return table
