"""Every request and the summary as CSV files (one header row, plain values, empty = unknown).

Numbers are written at full precision (Python's shortest round-trip form): a cost per request is of the
order of 1e-6, so any fixed rounding would print it as 0.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from rohe.serving.loadgen.results import RequestResult, SummaryRow

REQUEST_COLUMNS = (
    "index",
    "phase",
    "consumer",
    "algorithm",
    "served_algorithm",
    "intended_s",
    "sent_s",
    "latency_ms",
    "status",
    "http_status",
    "deadline_ms",
    "deadline_missed",
    "true_class",
    "predicted_class",
    "correct",
    "confidence",
    "ensemble_size",
    "cost",
    "answered",
    "late",
    "failed",
    "gateway_ms",
    "fanout_ms",
    "request_id",
    "error",
    "breach",
)


def _plain(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, tuple):
        return ";".join(str(v) for v in value)
    return getattr(value, "value", value)


def write_requests_csv(results: Sequence[RequestResult], path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(REQUEST_COLUMNS)
        for result in results:
            values = {**asdict(result), "correct": result.correct}
            writer.writerow([_plain(values[column]) for column in REQUEST_COLUMNS])
    return path


def write_summary_csv(rows: Sequence[SummaryRow], path: Path) -> Path:
    columns = [f.name for f in fields(SummaryRow)]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            values = asdict(row)
            writer.writerow([_plain(values[column]) for column in columns])
    return path
