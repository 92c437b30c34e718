"""The request-level traces published with the IoT-journal work, read exactly as they are on disk.

A run folder holds `inference_report.csv` (one row per query), `monitoring_report.csv` (one row per member
inference) and `consumer_feedback.csv` (query id -> ground truth). Links: a query lists its member inferences
in `inf_id`; a member row carries that `inf_id`. The served answer is the top class of the query's `data`
dict; a member's prediction is the top class of its `inf_result` dict, whose `inf_result` key is a timestamp,
not a class. `remaining_inference_time` is the query's inference budget: on every query whose members are in
the file, `time_violation` equals "slowest member's response_time > remaining_inference_time".
Rows that cannot be read are counted in `TraceRun.issues` by reason; so are links the sample files miss.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from rohe.experiments.traces.csvfiles import boolean, literal, number, read_rows, text_list
from rohe.experiments.traces.issues import Issues
from rohe.experiments.traces.model import TraceMember, TraceQuery, TraceRun

INFERENCE = "inference_report.csv"
MONITORING = "monitoring_report.csv"
FEEDBACK = "consumer_feedback.csv"
NON_CLASS_KEYS = frozenset({"inf_result"})


def is_iot_journal_run(folder: Path) -> bool:
    return (folder / INFERENCE).is_file()


def top_class(value: Any) -> str:
    """The class with the highest probability (first in the dict on a tie); ValueError if there is none."""
    if not isinstance(value, dict):
        raise ValueError("not a dict of class probabilities")
    best: str | None = None
    best_p = float("-inf")
    for key, p in value.items():
        if key in NON_CLASS_KEYS:
            continue
        if not isinstance(key, str) or isinstance(p, bool) or not isinstance(p, int | float):
            raise ValueError(f"entry {key!r}: {p!r} is not class -> probability")
        if p > best_p:
            best, best_p = key, float(p)
    if best is None:
        raise ValueError("no class probabilities")
    return best


def _queries(path: Path, issues: Issues) -> list[TraceQuery]:
    raw: list[tuple[float, TraceQuery]] = []
    seen: set[str] = set()
    required = ("query_id", "inf_time", "time_violation", "inf_id", "data")
    for line, row in read_rows(path, required):
        where = f"{path.name}:{line}"
        query_id = (row.get("query_id") or "").strip()
        if not query_id:
            issues.add("inference row without query_id (skipped)", where)
            continue
        if query_id in seen:
            issues.add("inference row repeats a query_id (first kept)", where)
            continue
        try:
            at = number(row.get("inf_time"))
            late = boolean(row.get("time_violation"))
        except ValueError as exc:
            issues.add(f"inference row with unreadable inf_time/time_violation (skipped): {exc}", where)
            continue
        seen.add(query_id)
        try:
            member_ids = text_list(row.get("inf_id"))
        except ValueError:
            issues.add("inference row with a bad inf_id literal (members unknown)", where)
            member_ids = ()
        try:
            sources = text_list(row.get("data_sources"))
        except ValueError:
            issues.add("inference row with a bad data_sources literal", where)
            sources = ()
        try:
            served: str | None = top_class(literal(row.get("data")))
        except ValueError:
            issues.add("inference row with a bad data literal (no served answer)", where)
            served = None
        try:
            budget: float | None = number(row.get("remaining_inference_time"))
        except ValueError:
            budget = None
        query = TraceQuery(query_id, at, late, len(member_ids), served, budget, None, member_ids, sources)
        raw.append((at, query))
    start = min((at for at, _ in raw), default=0.0)
    return [replace(q, time_s=at - start) for at, q in raw]


def _members(path: Path, issues: Issues) -> list[TraceMember]:
    members: list[TraceMember] = []
    seen: set[str] = set()
    required = ("query_id", "response_time", "model_id", "device_id", "data_source", "inf_id", "inf_result")
    for line, row in read_rows(path, required):
        where = f"{path.name}:{line}"
        inference_id = (row.get("inf_id") or "").strip()
        model = (row.get("model_id") or "").strip()
        device = (row.get("device_id") or "").strip()
        if not inference_id or not model or not device:
            issues.add("member row without inf_id, model_id or device_id (skipped)", where)
            continue
        if inference_id in seen:
            issues.add("member row repeats an inf_id (first kept)", where)
            continue
        try:
            response = number(row.get("response_time"))
        except ValueError:
            issues.add("member row with an unreadable response_time (skipped)", where)
            continue
        seen.add(inference_id)
        try:
            predicted: str | None = top_class(literal(row.get("inf_result")))
        except ValueError:
            issues.add("member row with a bad inf_result literal (no prediction)", where)
            predicted = None
        members.append(
            TraceMember(
                inference_id,
                (row.get("query_id") or "").strip(),
                model,
                device,
                (row.get("data_source") or "").strip(),
                response,
                predicted,
                (row.get("instance_id") or "").strip(),
            )
        )
    return members


def _feedback(path: Path, issues: Issues) -> dict[str, str]:
    feedback: dict[str, str] = {}
    for line, row in read_rows(path, ("query_id", "ground_truth")):
        where = f"{path.name}:{line}"
        query_id = (row.get("query_id") or "").strip()
        truth = (row.get("ground_truth") or "").strip()
        if not query_id or not truth:
            issues.add("feedback row without query_id or ground_truth (skipped)", where)
            continue
        if query_id in feedback:
            issues.add("feedback repeats a query_id (first kept)", where)
            continue
        feedback[query_id] = truth
    return feedback


def read_iot_journal_run(folder: Path, name: str | None = None) -> TraceRun:
    issues = Issues()
    queries = _queries(folder / INFERENCE, issues)
    members = _members(folder / MONITORING, issues) if (folder / MONITORING).is_file() else []
    if not (folder / MONITORING).is_file():
        issues.add("no monitoring_report.csv (no member latencies)", str(folder))
    feedback = _feedback(folder / FEEDBACK, issues) if (folder / FEEDBACK).is_file() else {}
    if not (folder / FEEDBACK).is_file():
        issues.add("no consumer_feedback.csv (no accuracy)", str(folder))
    known = {q.query_id for q in queries}
    for query_id in feedback:
        if query_id not in known:
            issues.add("feedback for a query not in inference_report.csv", f"{FEEDBACK}: {query_id}")
    member_ids = {m.inference_id for m in members}
    referenced = {i for q in queries for i in q.member_ids}
    for q in queries:
        absent = sum(1 for i in q.member_ids if i not in member_ids)
        if absent:
            issues.add("query whose member inferences are not in monitoring_report.csv", f"{INFERENCE}: {q.query_id}")
    for m in members:
        if m.inference_id not in referenced:
            issues.add("member row no query refers to", f"{MONITORING}: {m.inference_id}")
    return TraceRun(name or folder.name, folder, "iot-journal", queries, members, feedback, issues)
