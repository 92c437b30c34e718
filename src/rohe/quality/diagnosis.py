"""Tier 3: an Incident built deterministically from violations, anomalies, rule alerts and window metrics.

Suspects come from the violations' ranked causes (weighted by their share) and from anomalies on per-model,
per-stage and per-resource metrics (a metric path names its suspect). The same inputs always give the same
incident, suspects in the same order, and the same narrative text.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rohe.observation.metrics import WindowMetrics
from rohe.observation.violations import CauseKind, Violation
from rohe.quality.anomaly import Anomaly
from rohe.quality.rules import RuleAlert, Severity
from rohe.quality.series import split_entry_path

_INCIDENT_NAMESPACE = uuid.UUID("5d0c3f4e-7a51-4a35-9a53-6f1f0b2c9e11")
_ANOMALY_WEIGHT = 0.5  # an anomaly on a suspect's metric counts half as much as a violation blaming it
_PATH_KIND = {"models": CauseKind.MODEL, "stages": CauseKind.STAGE, "resources": CauseKind.NODE}
_NEXT_STEP = {
    CauseKind.STAGE: "profile that stage of the request path",
    CauseKind.MODEL: "check that model's replicas and node; consider rerouting the consumer away from it",
    CauseKind.NODE: "add capacity on that node or drain it so its replicas move",
    CauseKind.SERVICE: "check the health of the model services",
    CauseKind.WORKLOAD: "check what the consumer sends (load generator, network path to the gateway)",
    CauseKind.DATA: "check the input data and the ground-truth labels for a shift",
}


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Symptom(_Frozen):
    source: Literal["violation", "anomaly", "rule"]
    metric: str
    description: str


class SuspectedCause(_Frozen):
    kind: CauseKind
    name: str
    score: float = Field(ge=0, le=1, description="share of the incident's blame")
    evidence: list[str]


class Incident(_Frozen):
    incident_id: uuid.UUID
    app: str
    run: str
    consumer: str
    window_start: datetime
    window_end: datetime
    symptoms: list[Symptom]
    suspected_causes: list[SuspectedCause]
    evidence: list[str]
    narrative: str
    narrative_source: Literal["deterministic", "llm"] = "deterministic"
    severity: Severity = Severity.WARNING


def _severity(violations: Sequence[Violation], anomalies: Sequence[Anomaly], alerts: Sequence[RuleAlert]) -> Severity:
    """A broken contract is critical; so is a critical rule. Only info rules firing is info."""
    if violations or any(a.severity is Severity.CRITICAL for a in alerts):
        return Severity.CRITICAL
    if anomalies or any(a.severity is Severity.WARNING for a in alerts):
        return Severity.WARNING
    return Severity.INFO


def _suspect_of(metric: str) -> tuple[CauseKind, str] | None:
    head, _, rest = metric.partition(".")
    split = split_entry_path(head, rest) if head in _PATH_KIND else None
    return None if split is None else (_PATH_KIND[head], split[0])


def _window_line(window: WindowMetrics) -> str:
    parts = [f"{window.requests} requests", f"{window.throughput_rps:.2f} req/s"]
    if window.end_to_end is not None:
        parts.append(f"p99 {window.end_to_end.p99_ms:.1f} ms")
    if window.accuracy is not None:
        parts.append(f"accuracy {window.accuracy:.1%} on {window.labelled} labelled")
    if window.errors:
        parts.append(f"{window.errors} errors")
    return f"window {window.start:%H:%M:%S}-{window.end:%H:%M:%S} ({window.consumer}): " + ", ".join(parts)


def build_incident(
    violations: Sequence[Violation],
    anomalies: Sequence[Anomaly] = (),
    windows: Sequence[WindowMetrics] = (),
    alerts: Sequence[RuleAlert] = (),
) -> Incident | None:
    """One incident summarising the signals (None when there is none). Signals should concern one app run."""
    if not violations and not anomalies and not alerts:
        return None
    symptoms = [Symptom(source="violation", metric=v.metric, description=v.explanation or v.clause)
                for v in sorted(violations, key=lambda v: (v.window_end, v.clause))]
    symptoms += [Symptom(source="anomaly", metric=a.metric,
                         description=f"{a.metric} = {a.value:.4g} is anomalously {a.direction} "
                                     f"({a.detector} score {a.score:+.1f})")
                 for a in sorted(anomalies, key=lambda a: (a.window_end, a.metric, a.detector))]
    symptoms += [Symptom(source="rule", metric=r.metric, description=r.message)
                 for r in sorted(alerts, key=lambda r: (r.window_end, r.rule))]

    blame: dict[tuple[CauseKind, str], float] = {}
    evidence: dict[tuple[CauseKind, str], list[str]] = {}
    for violation in violations:
        for cause in violation.causes:
            key = (cause.kind, cause.name)
            blame[key] = blame.get(key, 0.0) + cause.share
            if cause.evidence not in evidence.setdefault(key, []):
                evidence[key].append(cause.evidence)
    for anomaly in anomalies:
        suspect = _suspect_of(anomaly.metric)
        if suspect is not None:
            blame[suspect] = blame.get(suspect, 0.0) + _ANOMALY_WEIGHT
            evidence.setdefault(suspect, []).append(f"anomaly: {anomaly.metric} = {anomaly.value:.4g} "
                                                    f"({anomaly.detector} {anomaly.score:+.1f})")
    total = sum(blame.values())
    ranked = sorted(blame, key=lambda k: (-blame[k], k[0].value, k[1]))
    suspects = [SuspectedCause(kind=k[0], name=k[1], score=min(1.0, blame[k] / total), evidence=evidence[k])
                for k in ranked] if total > 0 else []

    starts = [v.window_start for v in violations] + [a.window_start for a in anomalies]
    ends = [v.window_end for v in violations] + [a.window_end for a in anomalies] + [r.window_end for r in alerts]
    first = violations[0] if violations else None
    app = first.app if first else (anomalies[0].app if anomalies else alerts[0].app)
    run = first.run if first else (anomalies[0].run if anomalies else alerts[0].run)
    consumers = sorted({v.consumer for v in violations} | {a.consumer for a in anomalies} |
                       {r.consumer for r in alerts})
    consumer = consumers[0] if len(consumers) == 1 else ",".join(consumers)
    start, end = min(starts or ends), max(ends)
    context = [_window_line(w) for w in sorted(windows, key=lambda w: (w.end, w.consumer))[-3:]]
    identity = f"{app}|{run}|{consumer}|{start.isoformat()}|{end.isoformat()}|{len(symptoms)}"
    incident = Incident(
        incident_id=uuid.uuid5(_INCIDENT_NAMESPACE, identity), app=app, run=run, consumer=consumer,
        window_start=start, window_end=end, symptoms=symptoms, suspected_causes=suspects, evidence=context,
        narrative="", severity=_severity(violations, anomalies, alerts),
    )
    return incident.model_copy(update={"narrative": deterministic_narrative(incident)})


def deterministic_narrative(incident: Incident) -> str:
    violations = [s for s in incident.symptoms if s.source == "violation"]
    anomalies = [s for s in incident.symptoms if s.source == "anomaly"]
    rules = [s for s in incident.symptoms if s.source == "rule"]
    counts = []
    if violations:
        counts.append(f"{len(violations)} contract violation{'s' if len(violations) != 1 else ''} "
                      f"({', '.join(sorted({s.metric for s in violations}))})")
    if anomalies:
        counts.append(f"{len(anomalies)} anomal{'ies' if len(anomalies) != 1 else 'y'} "
                      f"({', '.join(sorted({s.metric for s in anomalies}))})")
    if rules:
        counts.append(f"{len(rules)} rule alert{'s' if len(rules) != 1 else ''}")
    text = (f"Between {incident.window_start:%Y-%m-%d %H:%M:%S} and {incident.window_end:%H:%M:%S} UTC, consumer "
            f"{incident.consumer} of {incident.app} (run {incident.run}) showed " + " and ".join(counts) + ".")
    if not incident.suspected_causes:
        return text + " No single cause stands out; look at the evidence windows."
    top = incident.suspected_causes[0]
    text += (f" The most likely cause is {top.kind.value} {top.name} ({top.score:.0%} of the blame): "
             f"{top.evidence[0]}.")
    others = [f"{c.kind.value} {c.name} ({c.score:.0%})" for c in incident.suspected_causes[1:3]]
    if others:
        text += f" Other suspects: {', '.join(others)}."
    return text + f" Next step: {_NEXT_STEP[top.kind]}."
