"""The run summary as a Rich table: one row per consumer x algorithm, fitting 120 columns.

Compact cells keep it narrow: answers as ok/partial/err/drop, the rate as offered>achieved, latency as
p50/p99. Below `width` 100 the table is split in two (outcome and latency | quality and cost), each keyed by
consumer and algorithm, instead of letting Rich cut the cells.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich import box
from rich.console import Group
from rich.table import Table

from rohe.serving.loadgen.results import SummaryRow

CAPTION = (
    "latency from the intended send time; miss = late, error or dropped (see 'err/drop'); "
    "accuracy = predicted vs ground truth over answered requests; cost in price units (replica price x busy s)"
)
SPLIT_BELOW = 100


def _cell(value: float | None, pattern: str) -> str:
    return "-" if value is None else format(value, pattern)


def _miss(row: SummaryRow) -> str:
    colour = "green" if row.deadline_miss_ratio <= 0.05 else "yellow" if row.deadline_miss_ratio < 0.2 else "red"
    return f"[{colour}]{row.deadline_miss_ratio:.0%}[/]"


_COLUMNS: dict[str, Callable[[SummaryRow], str]] = {
    "n": lambda r: str(r.requests),
    "ok/part/err/drop": lambda r: f"{r.ok}/{r.partial}/{r.errors}/{r.dropped}",
    "req/s off>got": lambda r: f"{r.offered_rps:.1f}>{r.achieved_rps:.1f}",
    "p50/p99 ms": lambda r: f"{_cell(r.latency_p50_ms, '.0f')}/{_cell(r.latency_p99_ms, '.0f')}",
    "miss": _miss,
    "acc": lambda r: _cell(r.accuracy, ".3f"),
    "size": lambda r: _cell(r.ensemble_size_mean, ".1f"),
    "cost": lambda r: f"{r.cost_total:.3g}",
}
_HALVES = (("n", "ok/part/err/drop", "req/s off>got", "p50/p99 ms", "miss"), ("acc", "size", "cost"))


def _table(rows: Sequence[SummaryRow], title: str | None, columns: Sequence[str], caption: str | None) -> Table:
    table = Table(title=title, caption=caption, box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("consumer", no_wrap=True)
    table.add_column("algorithm", no_wrap=True)
    for column in columns:
        table.add_column(column, justify="right", no_wrap=True)
    for row in rows:
        table.add_row(row.consumer, row.algorithm, *(_COLUMNS[c](row) for c in columns))
    return table


def summary_table(
    rows: Sequence[SummaryRow], title: str = "serving run: per consumer x algorithm", width: int | None = None
) -> Table | Group:
    """One table (or two, split by column, when `width` is below 100) with every consumer x algorithm row."""
    if width is not None and width < SPLIT_BELOW:
        return Group(
            _table(rows, title, _HALVES[0], None),
            _table(rows, None, _HALVES[1], CAPTION),
        )
    return _table(rows, title, list(_COLUMNS), CAPTION)
