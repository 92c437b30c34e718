"""rohe's own run folders as traces: the loadgen/demo `requests.csv` (and the `profiles.csv` beside it).

One requests.csv row is one request: `intended_s` is its arrival, `deadline_missed` its lateness (late, error
or dropped, as the loadgen defines it), `answered` the members that answered (';'-joined), `predicted_class`
the served answer and `true_class` the label the consumer sent back, so accuracy is served == true. Member
latencies are not in the file; a replay takes them from the `profiles.csv` recorded next to it.
"""

from __future__ import annotations

from pathlib import Path

from rohe.experiments.traces.csvfiles import boolean, number, read_rows
from rohe.experiments.traces.issues import Issues
from rohe.experiments.traces.model import TraceQuery, TraceRun

REQUESTS = "requests.csv"
PROFILES = "profiles.csv"


def is_rohe_run(folder: Path) -> bool:
    return (folder / REQUESTS).is_file()


def read_rohe_run(folder: Path, name: str | None = None) -> TraceRun:
    issues = Issues()
    path = folder / REQUESTS
    queries: list[TraceQuery] = []
    feedback: dict[str, str] = {}
    required = ("index", "intended_s", "deadline_missed", "true_class", "predicted_class", "answered")
    for line, row in read_rows(path, required):
        where = f"{REQUESTS}:{line}"
        query_id = (row.get("request_id") or "").strip() or f"index-{(row.get('index') or '').strip()}"
        if query_id == "index-":
            issues.add("request row without request_id or index (skipped)", where)
            continue
        try:
            at = number(row.get("intended_s"))
            late = boolean(row.get("deadline_missed"))
        except ValueError as exc:
            issues.add(f"request row with unreadable intended_s/deadline_missed (skipped): {exc}", where)
            continue
        answered = tuple(m for m in (row.get("answered") or "").split(";") if m)
        served = (row.get("predicted_class") or "").strip() or None
        try:
            latency: float | None = number(row.get("latency_ms")) / 1000
        except ValueError:
            latency = None
        try:
            budget: float | None = number(row.get("deadline_ms")) / 1000
        except ValueError:
            budget = None
        truth = (row.get("true_class") or "").strip()
        if truth:
            feedback[query_id] = truth
        else:
            issues.add("request row without true_class (no accuracy for it)", where)
        queries.append(TraceQuery(query_id, at, late, len(answered), served, budget, latency, member_models=answered))
    profiles = folder / PROFILES
    return TraceRun(
        name or folder.name,
        folder,
        "rohe-requests",
        queries,
        [],
        feedback,
        issues,
        profiles if profiles.is_file() else None,
    )
