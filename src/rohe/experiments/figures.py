"""A recorded run's own figures, recomputed from its files and nothing else.

- late ratio: queries recorded late (`time_violation`, or the loadgen's `deadline_missed`) / queries read.
- accuracy: served answer == consumer feedback, over queries that have both; class names compared as written.
- members per query: member inferences a query used, as recorded, averaged over queries.
- latency: per (model, device, data source), percentiles of member response times in ms (NumPy's linear
  interpolation, the one a spreadsheet's PERCENTILE.INC gives).
Whether the accuracy can be trusted is judged from the files too: feedback that uses numeric ids while the
answers are class names cannot match, and a served answer that (almost) never equals the feedback says the
two vocabularies are not joined; both are reported next to the number instead of hiding it.
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from rohe.experiments.traces import TraceRun

# Below this share of correct answers over at least this many labelled queries the join itself is suspect:
# even a random guess over the ~35 activity classes would be right about 3% of the time.
SUSPECT_ACCURACY = 0.02
SUSPECT_MIN_LABELLED = 20


@dataclass(frozen=True)
class LatencyGroup:
    model: str
    device: str
    source: str
    count: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float


@dataclass
class RunFigures:
    arm: str
    queries: int
    late: int
    late_ratio: float | None
    labelled: int  # queries with both a served answer and feedback
    correct: int
    accuracy: float | None
    numeric_feedback: int  # of the labelled, feedback given as a numeric id
    accuracy_trustworthy: bool
    accuracy_warnings: list[str]
    members_mean: float | None
    member_rows: int
    latency: list[LatencyGroup] = field(default_factory=list)
    issues: dict[str, object] = field(default_factory=dict)


def run_figures(run: TraceRun) -> RunFigures:
    queries = run.queries
    late = sum(q.late for q in queries)
    labelled = [
        (q.served, run.feedback[q.query_id]) for q in queries if q.served is not None and q.query_id in run.feedback
    ]
    correct = sum(served == truth for served, truth in labelled)
    numeric = sum(truth.lstrip("-").isdigit() for _, truth in labelled)
    served_numeric = sum(q.served is not None and q.served.lstrip("-").isdigit() for q in queries)
    warnings: list[str] = []
    served_total = sum(q.served is not None for q in queries)
    if numeric and served_numeric < served_total:
        warnings.append(f"{numeric} of {len(labelled)} feedback labels are numeric ids while answers are class names")
    if len(labelled) >= SUSPECT_MIN_LABELLED and correct / len(labelled) < SUSPECT_ACCURACY:
        warnings.append(
            f"only {correct} of {len(labelled)} served answers equal the feedback: the feedback and the answers"
            " do not share one class vocabulary"
        )
    if not labelled:
        warnings.append("no query has both a served answer and feedback")
    return RunFigures(
        arm=run.name,
        queries=len(queries),
        late=late,
        late_ratio=late / len(queries) if queries else None,
        labelled=len(labelled),
        correct=correct,
        accuracy=correct / len(labelled) if labelled else None,
        numeric_feedback=numeric,
        accuracy_trustworthy=not warnings,
        accuracy_warnings=warnings,
        members_mean=float(np.mean([q.members for q in queries])) if queries else None,
        member_rows=len(run.members),
        latency=latency_groups(run),
        issues=run.issues.as_dict(),
    )


def latency_groups(run: TraceRun) -> list[LatencyGroup]:
    """Per (model, device, data source), most samples first, then by name."""
    groups: dict[tuple[str, str, str], list[float]] = {}
    for m in run.members:
        groups.setdefault((m.model, m.device, m.source), []).append(m.response_s * 1000)
    result = []
    for (model, device, source), values in groups.items():
        array = np.asarray(values)
        p50, p95, p99 = (float(v) for v in np.percentile(array, [50, 95, 99]))
        result.append(LatencyGroup(model, device, source, len(values), p50, p95, p99, float(array.max())))
    result.sort(key=lambda g: (-g.count, g.model, g.device, g.source))
    return result


FIGURES_JSON = "figures.json"
FIGURES_CSV = "figures.csv"
LATENCY_CSV = "latency.csv"


def write_figures(figures: list[RunFigures], out: Path) -> list[Path]:
    """figures.json (everything, issues included), figures.csv (one row per arm), latency.csv (per group)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / FIGURES_JSON).write_text(json.dumps([asdict(f) for f in figures], indent=2) + "\n", encoding="utf-8")
    columns = [
        "arm",
        "queries",
        "late",
        "late_ratio",
        "labelled",
        "correct",
        "accuracy",
        "numeric_feedback",
        "accuracy_trustworthy",
        "members_mean",
        "member_rows",
        "malformed_or_unjoined_rows",
    ]
    with (out / FIGURES_CSV).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for f in figures:
            values = {**asdict(f), "malformed_or_unjoined_rows": f.issues.get("total", 0)}
            writer.writerow(["" if values[c] is None else values[c] for c in columns])
    with (out / LATENCY_CSV).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["arm", "model", "device", "source", "count", "p50_ms", "p95_ms", "p99_ms", "max_ms"])
        for f in figures:
            for g in f.latency:
                writer.writerow(
                    [
                        f.arm,
                        g.model,
                        g.device,
                        g.source,
                        g.count,
                        repr(g.p50_ms),
                        repr(g.p95_ms),
                        repr(g.p99_ms),
                        repr(g.max_ms),
                    ]
                )
    return [out / FIGURES_JSON, out / FIGURES_CSV, out / LATENCY_CSV]
