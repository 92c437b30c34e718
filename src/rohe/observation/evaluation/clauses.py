"""Contract clauses as checks over window metrics: `<metric> <operator> <threshold>` over a span, plus an action.

A consumer contract yields clauses from its application SLO when it has one (performance SLO, built-in quality
metrics, consumer-defined metric thresholds), otherwise from what rohe's own schema states (required
throughput, deadline, accuracy/confidence/miss-rate constraints).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from rohe.core.contracts import (
    Comparison,
    Constraint,
    ConsumerContract,
    MetricKind,
    SLOClause,
    miss_rate_name,
    rohe_metric_kind,
)
from rohe.core.errors import InvalidInput, Problem
from rohe.observation.metrics import WindowMetrics
from rohe.observation.violations import Action

Extractor = Callable[[WindowMetrics], float | None]


class Family(StrEnum):
    """What kind of quantity a clause checks; explanations are chosen by it."""

    LATENCY = "latency"
    THROUGHPUT = "throughput"
    AVAILABILITY = "availability"
    ACCURACY = "accuracy"
    CONFIDENCE = "confidence"
    COST = "cost"
    CUSTOM = "custom"


@dataclass(frozen=True)
class MetricRef:
    label: str  # what Violation.metric says, e.g. "end_to_end.p99_ms"
    family: Family
    extract: Extractor


@dataclass(frozen=True)
class Clause:
    name: str  # where it comes from, e.g. "quality_slo.builtin_metrics.accuracy"
    metric: MetricRef
    operator: Comparison
    threshold: float
    window_s: float = 0.0  # 0: the closing window alone
    window_text: str = ""
    action: Action = Action.ALERT

    @property
    def text(self) -> str:
        span = f" over {self.window_text}" if self.window_text else ""
        return f"{self.name} {self.operator.value} {self.threshold:g}{span}"

    def holds(self, observed: float) -> bool:
        return compare(observed, self.operator, self.threshold)


def compare(observed: float, operator: Comparison, threshold: float) -> bool:
    if operator is Comparison.GE:
        return observed >= threshold
    if operator is Comparison.GT:
        return observed > threshold
    if operator is Comparison.LE:
        return observed <= threshold
    if operator is Comparison.LT:
        return observed < threshold
    return abs(observed - threshold) <= 1e-9 * max(1.0, abs(threshold))


# --- built-in metrics ----------------------------------------------------------------------------------


def _p(quantile: str) -> Extractor:
    def extract(w: WindowMetrics) -> float | None:
        return None if w.end_to_end is None else float(getattr(w.end_to_end, quantile))

    return extract


def _availability_percent(w: WindowMetrics) -> float | None:
    availability = w.availability
    return None if availability is None else availability * 100.0


def _rate(part: Callable[[WindowMetrics], int]) -> Extractor:
    return lambda w: None if w.requests == 0 else part(w) / w.requests


def _cost_per_request(w: WindowMetrics) -> float | None:
    return None if w.requests == 0 else w.cost_total / w.requests


_BUILTINS: dict[str, MetricRef] = {
    "accuracy": MetricRef("accuracy", Family.ACCURACY, lambda w: w.accuracy),
    "confidence": MetricRef("confidence_mean", Family.CONFIDENCE, lambda w: w.confidence_mean),
    "response_time_p99_ms": MetricRef("end_to_end.p99_ms", Family.LATENCY, _p("p99_ms")),
    "response_time_p95_ms": MetricRef("end_to_end.p95_ms", Family.LATENCY, _p("p95_ms")),
    "response_time_p50_ms": MetricRef("end_to_end.p50_ms", Family.LATENCY, _p("p50_ms")),
    "response_time_mean_ms": MetricRef("end_to_end.mean_ms", Family.LATENCY, _p("mean_ms")),
    "throughput_rps": MetricRef("throughput_rps", Family.THROUGHPUT, lambda w: w.throughput_rps),
    "availability_percent": MetricRef("availability_percent", Family.AVAILABILITY, _availability_percent),
    "error_rate": MetricRef("error_rate", Family.AVAILABILITY, _rate(lambda w: w.errors)),
    "partial_rate": MetricRef("partial_rate", Family.AVAILABILITY, _rate(lambda w: w.partial)),
    "ensemble_size": MetricRef("ensemble_size_mean", Family.COST, lambda w: w.ensemble_size_mean),
    "cost_total": MetricRef("cost_total", Family.COST, lambda w: w.cost_total),
    "cost_per_request": MetricRef("cost_per_request", Family.COST, _cost_per_request),
}
_ALIASES = {
    "prediction_accuracy": "accuracy",
    "general_accuracy": "accuracy",
    "generalaccuracy": "accuracy",
    "confidence_mean": "confidence",
    "prediction_confidence": "confidence",
    "generalconfidence": "confidence",
    "general_confidence": "confidence",
    "latency_p99_ms": "response_time_p99_ms",
    "responsetime": "response_time_p99_ms",
    "throughput": "throughput_rps",
    "availability": "availability_percent",
    "ensemble_size_mean": "ensemble_size",
    "cost": "cost_total",
}
_CLASS_FIELD = re.compile(r"^(class_accuracy|class_miss_rate)[.\[]([^\]]+)\]?$")


def _class_mean(field: str, classes: tuple[str, ...]) -> Extractor:
    def extract(w: WindowMetrics) -> float | None:
        values: dict[str, float] = getattr(w, field)
        present = [values[c] for c in classes if c in values]
        return None if not present else sum(present) / len(present)

    return extract


def _class_metric(field: str, classes: tuple[str, ...]) -> MetricRef:
    return MetricRef(f"{field}[{','.join(classes)}]", Family.ACCURACY, _class_mean(field, classes))


def known_metrics() -> list[str]:
    return [*_BUILTINS, "accuracyOfClass<N>", "missRateOfClass<N>[and<M>]", "class_accuracy.<class>",
            "class_miss_rate.<class>"]


def builtin_metric(name: str, location: str) -> MetricRef:
    """The window metric a clause names; InvalidInput at `location` listing the known names otherwise."""
    key = _ALIASES.get(name.lower(), name.lower())
    if key in _BUILTINS:
        return _BUILTINS[key]
    field_match = _CLASS_FIELD.match(name)
    if field_match:
        return _class_metric(field_match.group(1), tuple(c.strip() for c in field_match.group(2).split(",")))
    recognised = rohe_metric_kind(name)
    if recognised is not None:
        kind, classes = recognised
        if kind is MetricKind.MISS_RATE:
            return miss_rate_metric(classes)
        if classes and kind is MetricKind.ACCURACY:
            return _class_metric("class_accuracy", tuple(str(c) for c in classes))
        simple = {MetricKind.ACCURACY: "accuracy", MetricKind.CONFIDENCE: "confidence",
                  MetricKind.RESPONSE_TIME_P99: "response_time_p99_ms", MetricKind.THROUGHPUT: "throughput_rps",
                  MetricKind.COST: "cost_total"}
        if kind in simple and not classes:
            return _BUILTINS[simple[kind]]
    raise InvalidInput(
        "unknown metric in contract",
        [Problem(location, f"{name!r} is not a metric rohe observes", f"use one of: {', '.join(known_metrics())}")],
    )


def custom_metric(name: str) -> MetricRef:
    return MetricRef(f"custom.{name}", Family.CUSTOM, lambda w: w.custom.get(name))


def miss_rate_metric(classes: tuple[int, ...]) -> MetricRef:
    """ROHE's miss rate of class A: A's own miss rate from the window; "of A as B" is not a window field but
    a ratio the agent computes from the reports (cdm.contract_window_functions adds it), stored in custom."""
    if len(classes) == 1:
        return _class_metric("class_miss_rate", (str(classes[0]),))
    name = miss_rate_name(classes)
    return MetricRef(f"custom.{name}", Family.ACCURACY, lambda w: w.custom.get(name))


# --- contracts -> clauses ------------------------------------------------------------------------------


def _from_slo(name: str, metric: MetricRef, clause: SLOClause) -> Clause:
    return Clause(name, metric, clause.operator, clause.value, clause.window_s, clause.window,
                  Action(clause.action_on_violation.value))


def clauses_for(contract: ConsumerContract) -> list[Clause]:
    """Every clause the contract asks the observation side to check, in contract order."""
    slo = contract.slo
    if slo is None:
        return _clauses_from_selection_contract(contract)
    perf = slo.performance_slo
    clauses = [
        Clause("performance_slo.response_time_p99_ms", _BUILTINS["response_time_p99_ms"], Comparison.LE,
               perf.response_time_p99_ms),
        Clause("performance_slo.throughput_rps", _BUILTINS["throughput_rps"], Comparison.GE, perf.throughput_rps),
        Clause("performance_slo.availability_percent", _BUILTINS["availability_percent"], Comparison.GE,
               perf.availability_percent),
    ]
    for name, clause in slo.quality_slo.builtin_metrics.items():
        where = f"contract.quality_slo.builtin_metrics.{name}"
        clauses.append(_from_slo(f"quality_slo.builtin_metrics.{name}", builtin_metric(name, where), clause))
    for name, clause in slo.quality_slo.cdm_thresholds.items():
        clauses.append(_from_slo(f"quality_slo.cdm_thresholds.{name}", custom_metric(name), clause))
    return clauses


def _clauses_from_selection_contract(contract: ConsumerContract) -> list[Clause]:
    # `required_throughput` sizes the replicas the ensemble needs; it is capacity, not a rate the consumer
    # promises to send, so judging the observed rate against it would flag every quiet window.
    clauses: list[Clause] = []
    if contract.deadline_ms is not None:
        clauses.append(Clause("deadline_ms", _BUILTINS["response_time_p99_ms"], Comparison.LE, contract.deadline_ms))
    for i, constraint in enumerate(contract.constraints):
        metric = _constraint_metric(constraint)
        if metric is None:
            continue  # cost and member latency/throughput constrain selection, not what a window observes
        if constraint.min is not None:
            clauses.append(Clause(f"constraints[{i}].min", metric, Comparison.GE, constraint.min))
        if constraint.max is not None:
            clauses.append(Clause(f"constraints[{i}].max", metric, Comparison.LE, constraint.max))
    return clauses


def _constraint_metric(constraint: Constraint) -> MetricRef | None:
    classes = tuple(str(c) for c in constraint.classes)
    if constraint.metric is MetricKind.MISS_RATE:
        return miss_rate_metric(constraint.classes)
    if constraint.metric is MetricKind.ACCURACY:
        return _class_metric("class_accuracy", classes) if classes else _BUILTINS["accuracy"]
    if constraint.metric is MetricKind.CONFIDENCE and not classes:
        return _BUILTINS["confidence"]
    return None
