"""Reading consumer contracts: rohe's own schema, ROHE's ensemble-selection contract and its application
contracts. Every failure is an InvalidInput whose problems name the offending field in the input's terms."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from rohe.core.contracts.model import (
    Aggregation,
    Constraint,
    ConsumerContract,
    Direction,
    EnsembleSize,
    MetricKind,
    Objective,
)
from rohe.core.contracts.slo import ApplicationSLO
from rohe.core.errors import InvalidInput, Problem, ProblemCollector
from rohe.core.loading import load_document, problems_from_validation

_Model = TypeVar("_Model", bound=BaseModel)

# ROHE names metrics by convention rather than by field; these are the conventions its contracts use.
_CLASS_LIST = r"(\d+(?:and\d+)*)"
_ROHE_METRIC_PATTERNS: list[tuple[re.Pattern[str], MetricKind]] = [
    (re.compile(rf"^missRateOf(?:Class)?{_CLASS_LIST}$", re.IGNORECASE), MetricKind.MISS_RATE),
    (re.compile(rf"^accuracyO[nf]Class{_CLASS_LIST}$", re.IGNORECASE), MetricKind.ACCURACY),
    (re.compile(rf"^confidenceO[nf]Class{_CLASS_LIST}$", re.IGNORECASE), MetricKind.CONFIDENCE),
    (re.compile(r"^(general)?accuracy$", re.IGNORECASE), MetricKind.ACCURACY),
    (re.compile(r"^(general)?confidence$", re.IGNORECASE), MetricKind.CONFIDENCE),
    (re.compile(r"^(responseTime|latency)(P99)?$", re.IGNORECASE), MetricKind.RESPONSE_TIME_P99),
    (re.compile(r"^throughput$", re.IGNORECASE), MetricKind.THROUGHPUT),
    (re.compile(r"^cost$", re.IGNORECASE), MetricKind.COST),
]
_ROHE_FIELD_NAMES = {"min": "min_value", "max": "max_value", "aggregate": "operator", "direction": "objective"}
_ROHE_METRIC_KEYS = {"operator", "weight", "min_value", "max_value", "objective", "scale", "logbase"}
_APP_QUALITY_METRICS = {
    "accuracy": MetricKind.ACCURACY,
    "prediction_accuracy": MetricKind.ACCURACY,
    "confidence": MetricKind.CONFIDENCE,
}


def _validated(model: type[_Model], data: Any, prefix: str, rename: Callable[[str], str] = str) -> _Model:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [
            Problem(rename(p.location) if p.location != "<root>" else prefix, p.message, p.hint)
            for p in problems_from_validation(exc, prefix)
        ]
        raise InvalidInput(f"invalid {prefix or model.__name__}", problems) from None


def _mapping(data: Any, source: str, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise InvalidInput(
            f"{source} is not a {what}", [Problem(source, "expected a mapping at the top level", "check the file")]
        )
    return data


# --- rohe's own schema -----------------------------------------------------------------------------------


def parse_contract(data: Any, source: str = "<contract>") -> ConsumerContract:
    """Validate a document in rohe's own contract schema (see docs/serving-selection.md)."""
    return _validated(ConsumerContract, _mapping(data, source, "consumer contract"), "")


def load_contract(path: Path) -> ConsumerContract:
    """Load any supported contract file, recognising its format by its top-level keys."""
    data = _mapping(load_document(path), str(path), "contract")
    if "mlSpecific" in data:
        return contract_from_rohe_selection(data, consumer=path.stem, source=str(path))
    if "contract" in data:
        return contract_from_rohe_application(data, source=str(path))
    return parse_contract(data, str(path))


# --- ROHE ensemble-selection contract ------------------------------------------------------------------


def rohe_metric_kind(key: str) -> tuple[MetricKind, tuple[int, ...]] | None:
    """`missRateOfClass1and6` -> (miss_rate, (1, 6)): class-1 samples answered as 6 (core.contracts.miss_rate);
    None for names ROHE's conventions do not cover."""
    for pattern, kind in _ROHE_METRIC_PATTERNS:
        match = pattern.match(key)
        if match:
            groups = [g for g in match.groups() if g and g[0].isdigit()]
            classes = tuple(int(c) for c in groups[0].split("and")) if groups else ()
            return kind, classes
    return None


def contract_from_rohe_selection(
    data: Any, consumer: str = "rohe-consumer", source: str = "<contract>"
) -> ConsumerContract:
    """Translate ROHE's `mlSpecific` / `ensemble` / `service` contract, keeping its metric keys as names."""
    doc = _mapping(data, source, "ROHE ensemble-selection contract")
    problems = ProblemCollector()
    for key in ("mlSpecific", "ensemble", "service"):
        if key not in doc:
            problems.add(key, "missing", "add this section (see ROHE's ensemble_selection/contract.yaml)")
    for key in doc:
        if key not in ("mlSpecific", "ensemble", "service"):
            problems.add(str(key), "unknown section", "use mlSpecific, ensemble and service only")
    metrics = _mapping(doc.get("mlSpecific", {}), "mlSpecific", "mapping of metrics")
    objectives: list[Objective] = []
    for key, spec in metrics.items():
        where = f"mlSpecific.{key}"
        recognised = rohe_metric_kind(str(key))
        if recognised is None:
            problems.add(
                where,
                "unknown metric name",
                "use missRateOfClass<N>[and<M>...], generalAccuracy, accuracyOnClass<N>, confidenceOnClass<N>, "
                "confidence, responseTime, throughput or cost",
            )
            continue
        if not isinstance(spec, Mapping):
            problems.add(where, "expected a mapping of operator, weight, min_value, ...", "")
            continue
        for extra in set(spec) - _ROHE_METRIC_KEYS:
            problems.add(f"{where}.{extra}", "unknown field", f"use {', '.join(sorted(_ROHE_METRIC_KEYS))}")
        kind, classes = recognised
        candidate = {
            "name": str(key),
            "metric": kind,
            "classes": classes,
            "aggregate": spec.get("operator"),
            "direction": spec.get("objective"),
            "min": spec.get("min_value"),
            "max": spec.get("max_value"),
            "weight": spec.get("weight", 1),
            "scale": {"kind": spec.get("scale", "linear"), "base": spec.get("logbase", 2)},
        }
        try:
            objectives.append(_validated(Objective, candidate, where, _rohe_location(where)))
        except InvalidInput as exc:
            problems.problems.extend(exc.problems)
    ensemble = _collect(problems, EnsembleSize, doc["ensemble"], "ensemble") if "ensemble" in doc else None
    raw_service = doc.get("service")
    service: Mapping[str, Any] = raw_service if isinstance(raw_service, Mapping) else {}
    if "service" in doc and "throughput" not in service:
        problems.add("service.throughput", "missing", "give the required requests per second")
    problems.raise_if_any(f"invalid ROHE contract {source}")
    contract = {
        "consumer": consumer,
        "ensemble": ensemble,
        "required_throughput": service["throughput"],
        "objectives": objectives,
    }
    return _validated(ConsumerContract, contract, "", _rohe_service_location)


def _rohe_location(prefix: str) -> Callable[[str], str]:
    def rename(location: str) -> str:
        head, _, tail = location.partition(prefix + ".")
        if head or not tail:
            return location
        if tail.startswith("scale.base"):
            return f"{prefix}.logbase"
        if tail.startswith("scale.kind"):
            return f"{prefix}.scale"
        field = tail.split(".")[0]
        return f"{prefix}.{_ROHE_FIELD_NAMES.get(field, field)}"

    return rename


def _rohe_service_location(location: str) -> str:
    return "service.throughput" if location.startswith("required_throughput") else location


def _collect(problems: ProblemCollector, model: type[_Model], data: Any, prefix: str) -> _Model | None:
    try:
        return _validated(model, data, prefix)
    except InvalidInput as exc:
        problems.problems.extend(exc.problems)
        return None


# --- ROHE application contracts ------------------------------------------------------------------------


def parse_application_slo(data: Any, source: str = "<contract>") -> ApplicationSLO:
    """Validate the `contract:` and `cdm_definitions:` sections of a ROHE application contract."""
    doc = _mapping(data, source, "ROHE application contract")
    problems = ProblemCollector()
    for key in doc:
        if key not in ("contract", "cdm_definitions"):
            problems.add(str(key), "unknown section", "use contract and cdm_definitions only")
    if not isinstance(doc.get("contract"), Mapping):
        problems.add("contract", "missing or not a mapping", "add the contract section")
    problems.raise_if_any(f"invalid application contract {source}")
    merged = {**doc["contract"], "cdm_definitions": doc.get("cdm_definitions") or {}}
    slo = _validated(ApplicationSLO, merged, "", lambda loc: loc if loc.startswith("cdm_") else f"contract.{loc}")
    for name in slo.quality_slo.cdm_thresholds:
        if name not in slo.cdm_definitions:
            problems.add(
                f"contract.quality_slo.cdm_thresholds.{name}",
                "has no definition",
                f"add cdm_definitions.{name} or remove the threshold",
            )
    for name, definition in slo.cdm_definitions.items():
        if definition.name != name:
            problems.add(f"cdm_definitions.{name}.name", f"is {definition.name!r}", f"use {name!r}")
    problems.raise_if_any(f"invalid application contract {source}")
    return slo


def contract_from_rohe_application(data: Any, source: str = "<contract>", ensemble_max: int = 3) -> ConsumerContract:
    """A selection contract implied by an application contract's SLOs.

    Built-in quality clauses become objectives (maximise on a linear [0, 1] scale) and hard constraints at
    their thresholds; the p99 response time becomes a constraint on the slowest member; the throughput SLO
    is the required throughput. Consumer-defined metrics stay in `slo` for the Observation Service.
    """
    slo = parse_application_slo(data, source)
    objectives: list[Objective] = []
    constraints: list[Constraint] = [
        Constraint(
            metric=MetricKind.RESPONSE_TIME_P99,
            aggregate=Aggregation.MAX,
            max=slo.performance_slo.response_time_p99_ms,
        )
    ]
    for name, clause in slo.quality_slo.builtin_metrics.items():
        kind = _APP_QUALITY_METRICS.get(name)
        if kind is None:
            continue
        objectives.append(Objective(name=name, metric=kind, direction=Direction.MAXIMIZE, min=0.0, max=1.0))
        if clause.operator in (">=", ">"):
            constraints.append(Constraint(metric=kind, min=clause.value))
        elif clause.operator in ("<=", "<"):
            constraints.append(Constraint(metric=kind, max=clause.value))
    if not objectives:
        raise InvalidInput(
            f"{source} gives nothing to select on",
            [
                Problem(
                    "contract.quality_slo.builtin_metrics",
                    "none of accuracy, prediction_accuracy or confidence is present",
                    "add one of them or write a rohe contract with explicit objectives",
                )
            ],
        )
    return ConsumerContract(
        consumer=slo.contract_id,
        ensemble=EnsembleSize(min=1, max=ensemble_max),
        required_throughput=slo.performance_slo.throughput_rps,
        objectives=tuple(objectives),
        constraints=tuple(constraints),
        slo=slo,
    )
