"""The report folder of a serving run: requests.csv, summary.csv, summary.json and three PNG plots."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rohe.serving.loadgen.results import RequestOutcome, RunResult, SummaryRow
from rohe.serving.report.plots import accuracy_vs_cost, deadline_miss, latency_over_time
from rohe.serving.report.tables_csv import write_requests_csv, write_summary_csv

REQUESTS_CSV = "requests.csv"
SUMMARY_CSV = "summary.csv"
SUMMARY_JSON = "summary.json"
LATENCY_PNG = "latency_over_time.png"
ACCURACY_COST_PNG = "accuracy_vs_cost.png"
DEADLINE_PNG = "deadline_miss.png"

DEFINITIONS = {
    "latency_ms": "from the request's intended send time to its answer (client-side, open loop)",
    "deadline_miss_ratio": "share of all requests that were late, errors (rejected included) or dropped by the client",
    "accuracy": "predicted class == ground-truth label, over answered (ok/partial) requests",
    "offered_rps": "scheduled requests / scheduled duration",
    "achieved_rps": "answered requests / wall time until the last answer",
    "cost": "the gateway's cost per request in price units (replica price per second x seconds busy), summed "
    "(total) or per answered request (mean)",
}


@dataclass(frozen=True)
class ReportFiles:
    folder: Path
    requests_csv: Path
    summary_csv: Path
    summary_json: Path
    plots: tuple[Path, ...]


def _counts(run: RunResult) -> dict[str, int]:
    counts = {outcome.value: 0 for outcome in RequestOutcome}
    for result in run.results:
        counts[result.status.value] += 1
    return {"requests": len(run.results), **counts}


def write_report(
    run: RunResult,
    out: Path,
    *,
    title: str = "serving run",
    phase_rates: Mapping[str, float] | None = None,
    extra: Mapping[str, Any] | None = None,
    deadlines: Mapping[str, float] | None = None,
) -> ReportFiles:
    """Write the folder (created if needed; files of an earlier run are replaced); `extra` is added to
    summary.json as it is (e.g. placement, profiles, restarts); `deadlines` (consumer -> ms) are drawn on the
    latency plot."""
    out.mkdir(parents=True, exist_ok=True)
    rows: list[SummaryRow] = run.summary()
    requests_csv = write_requests_csv(run.results, out / REQUESTS_CSV)
    summary_csv = write_summary_csv(rows, out / SUMMARY_CSV)
    plots = (
        latency_over_time(run, out / LATENCY_PNG, dict(phase_rates or {}), dict(deadlines or {})),
        accuracy_vs_cost(rows, out / ACCURACY_COST_PNG),
        deadline_miss(rows, out / DEADLINE_PNG),
    )
    document = {
        "title": title,
        "duration_s": run.duration_s,
        "elapsed_s": run.elapsed_s,
        "phases": [{"name": name, "start_s": start, "end_s": end} for name, start, end in run.phases],
        "counts": _counts(run),
        "feedback": {"sent": run.feedback_sent, "failed": run.feedback_failed},
        "events": run.events,
        "definitions": DEFINITIONS,
        "summary": [asdict(row) for row in rows],
        **dict(extra or {}),
    }
    summary_json = out / SUMMARY_JSON
    summary_json.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    return ReportFiles(out, requests_csv, summary_csv, summary_json, plots)
