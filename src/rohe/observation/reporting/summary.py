"""The on-screen summary of an app's observed windows: one row per consumer."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from rich.table import Table

from rohe.observation.evaluation.span import combine_windows
from rohe.observation.evaluation.words import clause_in_words
from rohe.observation.metrics import ALL_CONSUMERS, WindowKind, WindowMetrics
from rohe.observation.violations import Violation


@dataclass(frozen=True)
class ConsumerSummary:
    consumer: str
    windows: int
    requests: int
    throughput_rps: float
    p99_ms: float | None
    accuracy: float | None
    labelled: int
    violations: dict[str, int]  # clause in words -> count


def one_kind(windows: Sequence[WindowMetrics]) -> list[WindowMetrics]:
    """Tumbling windows when there are any (sliding ones overlap, so their counts would double)."""
    tumbling = [w for w in windows if w.kind is WindowKind.TUMBLING]
    return sorted(tumbling or windows, key=lambda w: (w.consumer, w.start))


def summarise(windows: Sequence[WindowMetrics], violations: Sequence[Violation]) -> list[ConsumerSummary]:
    chosen = one_kind(windows)
    consumers = sorted({w.consumer for w in chosen} | {v.consumer for v in violations},
                       key=lambda c: (c != ALL_CONSUMERS, c))
    out = []
    for consumer in consumers:
        mine = [w for w in chosen if w.consumer == consumer]
        clauses = Counter(clause_in_words(v.metric, v.operator, v.threshold) for v in violations
                          if v.consumer == consumer)
        if mine:
            total = combine_windows(mine)
            out.append(ConsumerSummary(consumer, len(mine), total.requests, total.throughput_rps,
                                       total.end_to_end.p99_ms if total.end_to_end else None, total.accuracy,
                                       total.labelled, dict(sorted(clauses.items()))))
        else:
            out.append(ConsumerSummary(consumer, 0, 0, 0.0, None, None, 0, dict(sorted(clauses.items()))))
    return out


def summary_table(app: str, rows: Sequence[ConsumerSummary]) -> Table:
    table = Table(title=f"Observation report: {app}")
    for header, justify in (("consumer", "left"), ("windows", "right"), ("requests", "right"), ("req/s", "right"),
                            ("p99 ms", "right"), ("accuracy", "right"), ("violations per clause", "left")):
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        broken = "\n".join(f"{n} x {clause}" for clause, n in row.violations.items()) or "-"
        table.add_row(
            "all consumers" if row.consumer == ALL_CONSUMERS else row.consumer,
            str(row.windows), str(row.requests), f"{row.throughput_rps:.2f}",
            "-" if row.p99_ms is None else f"{row.p99_ms:.1f}",
            "-" if row.accuracy is None else f"{row.accuracy:.1%} ({row.labelled})",
            broken,
        )
    if not rows:
        table.add_row("(no windows)", "0", "0", "-", "-", "-", "-")
    return table
