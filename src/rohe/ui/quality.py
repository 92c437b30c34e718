"""The console's quality views: applications and their consumers' contract clauses with a live status, the
series the charts draw, the violation/incident feed and a violation's evidence.

Status of a clause, from the consumer's latest stored window: `violated` when the observed value breaks it (or
the window has no value for it: missing data counts as a violation, as in the evaluator); `at risk` when it holds
but within 10% of the threshold, or it was broken in one of the previous few windows; `ok` otherwise.
Clauses come from the contract files of the app run's recorded observation agent (chosen by the operator),
turned into checks by `rohe.observation.evaluation.clauses` - the same checks the agent runs.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from rohe.core.contracts import Comparison
from rohe.core.errors import NotFound, RoheError
from rohe.observation.evaluation.clauses import Clause, clauses_for
from rohe.observation.evaluation.evaluator import load_contracts
from rohe.observation.metrics import ALL_CONSUMERS, WindowMetrics
from rohe.observation.service import ObservationService
from rohe.observation.violations import Violation

log = logging.getLogger(__name__)

RISK_MARGIN = 0.10
RECENT_WINDOWS = 5
SERIES_WINDOWS = 60
FEED_LIMIT = 200


def app_runs(observation: ObservationService) -> list[tuple[str, str]]:
    """Every (app, run) the store knows: registered ones and those with stored windows."""
    pairs = {(r.app, r.run) for r in observation.list_apps()}
    pairs.update(observation.store.window_runs())
    return sorted(pairs)


_CONTRACTS: dict[tuple[str, int, int], dict[str, list[Clause]]] = {}


def _clauses_of(path: Path) -> dict[str, list[Clause]]:
    """Clauses of one contract file, parsed again only when the file changed (50 YAML files cost seconds)."""
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _CONTRACTS:
        if len(_CONTRACTS) > 1000:
            _CONTRACTS.clear()
        _CONTRACTS[key] = {c: clauses_for(contract) for c, contract in load_contracts([path]).items()}
    return _CONTRACTS[key]


def _contract_clauses(observation: ObservationService, app: str, run: str) -> dict[str, list[Clause]]:
    clauses: dict[str, list[Clause]] = {}
    for agent_app, agent_run, _, config in observation.store.list_agents():
        if (agent_app, agent_run) != (app, run):
            continue
        for path in config.get("contracts") or []:
            try:
                clauses.update(_clauses_of(Path(path)))
            except (RoheError, OSError) as exc:  # a contract file moved since the agent started: show the rest
                log.warning("contract %s of %s/%s unreadable: %s", path, app, run, exc)
    return clauses


class SeriesCache:
    """The newest windows per consumer of each app run, read incrementally: a refresh asks the store only for
    windows ending after (the newest seen - `overlap_s`), so a stream does not re-read an hour of windows every
    second. Windows are keyed by (consumer, kind, start): one stored again with the same key replaces the old."""

    def __init__(self, keep: int = SERIES_WINDOWS, overlap_s: float = 30.0) -> None:
        self.keep = keep
        self.overlap = timedelta(seconds=overlap_s)
        self._runs: dict[tuple[str, str], dict[tuple[str, str, datetime], WindowMetrics]] = {}
        self._lock = threading.Lock()

    def windows(self, observation: ObservationService, app: str, run: str) -> dict[str, list[WindowMetrics]]:
        with self._lock:
            known = self._runs.get((app, run))
            if known:
                since = max(w.end for w in known.values()) - self.overlap
                fresh = observation.store.list_windows(app, run, since=since)
            else:
                known = {}
                fresh = observation.store.list_windows(app, run, limit=self.keep * 64)
            for w in fresh:
                known[(w.consumer, w.kind.value, w.start)] = w
            by_consumer: dict[str, list[WindowMetrics]] = {}
            for w in sorted(known.values(), key=lambda w: (w.end, w.start)):
                by_consumer.setdefault(w.consumer, []).append(w)
            trimmed = {c: ws[-self.keep:] for c, ws in by_consumer.items()}
            self._runs[(app, run)] = {(w.consumer, w.kind.value, w.start): w for ws in trimmed.values() for w in ws}
            return trimmed


def _status(clause: Clause, observed: float | None, recent_breaks: int) -> str:
    if observed is None or not clause.holds(observed):
        return "violated"
    margin = RISK_MARGIN * max(abs(clause.threshold), 1e-9)
    near = (clause.operator in (Comparison.LE, Comparison.LT) and observed > clause.threshold - margin) or (
        clause.operator in (Comparison.GE, Comparison.GT) and observed < clause.threshold + margin)
    return "at risk" if near or recent_breaks else "ok"


def _worst(statuses: Sequence[str]) -> str:
    for status in ("violated", "at risk", "ok"):
        if status in statuses:
            return status
    return "no contract"


def _number(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def _point(w: WindowMetrics) -> dict[str, Any]:
    e2e = w.end_to_end
    return {
        "t": w.end.isoformat(),
        "p50": _number(e2e.p50_ms if e2e else None, 1),
        "p99": _number(e2e.p99_ms if e2e else None, 1),
        "accuracy": _number(w.accuracy),
        "throughput": _number(w.throughput_rps, 2),
        "cost": _number(w.cost_total, 6),
        "requests": w.requests,
    }


def consumer_views(
    observation: ObservationService, app: str, run: str, cache: SeriesCache | None = None
) -> list[dict[str, Any]]:
    """One entry per consumer of an app run: clauses with their status, and the series for the charts."""
    by_consumer = (cache or SeriesCache()).windows(observation, app, run)
    by_consumer.pop(ALL_CONSUMERS, None)
    clauses = _contract_clauses(observation, app, run)
    views = []
    for consumer in sorted(set(by_consumer) | set(clauses)):
        series = by_consumer.get(consumer, [])[-SERIES_WINDOWS:]
        latest = series[-1] if series else None
        rows: list[dict[str, Any]] = []
        for clause in clauses.get(consumer, []):
            observed = clause.metric.extract(latest) if latest is not None else None
            previous = [clause.metric.extract(w) for w in series[-1 - RECENT_WINDOWS:-1]]
            breaks = sum(1 for v in previous if v is not None and not clause.holds(v))
            rows.append({"clause": clause.text, "metric": clause.metric.label, "operator": clause.operator.value,
                         "threshold": clause.threshold, "observed": _number(observed),
                         "status": _status(clause, observed, breaks)})
        deadline = next((c["threshold"] for c in rows if c["metric"].startswith("end_to_end.")), None)
        floor = next((c["threshold"] for c in rows if c["metric"] == "accuracy"), None)
        views.append({
            "app": app, "run": run, "consumer": consumer, "clauses": rows,
            "status": _worst([c["status"] for c in rows]),
            "latest": _point(latest) if latest else None,
            "deadline_ms": deadline, "accuracy_floor": floor,
            "series": [_point(w) for w in series],
        })
    return views


def applications(observation: ObservationService, cache: SeriesCache | None = None) -> list[dict[str, Any]]:
    return [{"app": app, "run": run, "consumers": consumer_views(observation, app, run, cache)}
            for app, run in app_runs(observation)]


def _violation_row(v: Violation) -> dict[str, Any]:
    return {
        "id": str(v.violation_id), "app": v.app, "run": v.run, "consumer": v.consumer, "clause": v.clause,
        "metric": v.metric, "operator": v.operator, "threshold": v.threshold, "observed": _number(v.observed),
        "window_start": v.window_start.isoformat(), "window_end": v.window_end.isoformat(),
        "detected_at": v.detected_at.isoformat(), "action": v.action.value, "explanation": v.explanation,
        "causes": [{"kind": c.kind.value, "name": c.name, "share": round(c.share, 3), "evidence": c.evidence}
                   for c in sorted(v.causes, key=lambda c: -c.share)],
    }


def feed(observation: ObservationService, limit: int = FEED_LIMIT) -> dict[str, Any]:
    """The newest violations and incidents over every app, newest first."""
    violations: list[Violation] = []
    incidents: list[dict[str, Any]] = []
    for app in sorted({a for a, _ in app_runs(observation)}):
        violations += observation.store.list_violations(app)
        for i in observation.store.list_incidents(app):
            incidents.append({
                "id": str(i.incident_id), "app": i.app, "run": i.run, "consumer": i.consumer,
                "severity": i.severity.value, "window_start": i.window_start.isoformat(),
                "window_end": i.window_end.isoformat(), "narrative": i.narrative,
                "symptoms": [s.description for s in i.symptoms],
                "causes": [{"kind": c.kind.value, "name": c.name, "score": round(c.score, 3)}
                           for c in i.suspected_causes],
            })
    violations.sort(key=lambda v: v.window_end, reverse=True)
    incidents.sort(key=lambda i: str(i["window_end"]), reverse=True)
    return {"violations": [_violation_row(v) for v in violations[:limit]], "incidents": incidents[:limit],
            "violation_count": len(violations), "incident_count": len(incidents)}


def _find(observation: ObservationService, violation_id: str) -> Violation:
    try:
        wanted = uuid.UUID(violation_id)
    except ValueError as exc:
        raise NotFound(f"no violation {violation_id!r}: not a violation id") from exc
    for app in sorted({a for a, _ in app_runs(observation)}):
        for v in observation.store.list_violations(app):
            if v.violation_id == wanted:
                return v
    raise NotFound(f"no violation {violation_id!r}")


def _overlaps(w: WindowMetrics, start: datetime, end: datetime) -> bool:
    return w.start < end and w.end > start


def evidence(observation: ObservationService, violation_id: str) -> dict[str, Any]:
    """A violation with the stored windows it was judged on (its consumer's and the all-consumers window)."""
    v = _find(observation, violation_id)
    windows = [w for w in observation.store.list_windows(v.app, v.run, since=v.window_start)
               if _overlaps(w, v.window_start, v.window_end) and w.consumer in (v.consumer, ALL_CONSUMERS)]
    incidents = [i.narrative for i in observation.store.list_incidents(v.app, v.run, v.consumer)
                 if i.window_start < v.window_end and i.window_end > v.window_start]
    return {"violation": _violation_row(v), "incidents": incidents,
            "windows": [_window_detail(w) for w in windows]}


def _window_detail(w: WindowMetrics) -> dict[str, Any]:
    def lat(stats: Any) -> dict[str, Any] | None:
        return None if stats is None else {"count": stats.count, "p50_ms": round(stats.p50_ms, 1),
                                           "p99_ms": round(stats.p99_ms, 1), "max_ms": round(stats.max_ms, 1)}

    return {
        "consumer": w.consumer, "start": w.start.isoformat(), "end": w.end.isoformat(), "requests": w.requests,
        "errors": w.errors, "partial": w.partial, "throughput_rps": round(w.throughput_rps, 2),
        "accuracy": _number(w.accuracy), "cost_total": round(w.cost_total, 6), "end_to_end": lat(w.end_to_end),
        "stages": {k: lat(s) for k, s in w.stages.items()},
        "models": {k: {"requests": m.requests, "late": m.late, "accuracy": _number(m.accuracy),
                       "p99_ms": round(m.latency.p99_ms, 1) if m.latency else None} for k, m in w.models.items()},
        "resources": {k: {"cpu_mean": round(r.cpu_mean, 2), "memory_mean": round(r.memory_mean, 1)}
                      for k, r in w.resources.items()},
    }
