from __future__ import annotations

from typing import Any

import pytest

from rohe.core.contracts import (
    Aggregation,
    Direction,
    MetricKind,
    contract_from_rohe_selection,
    load_contract,
    parse_application_slo,
    parse_contract,
    rohe_metric_kind,
    window_seconds,
)
from rohe.core.errors import InvalidInput
from shared_inputs import CONTRACTS, ENSEMBLE_SELECTION, require


def own_contract(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "consumer": "tenant-a",
        "ensemble": {"min": 1, "max": 3},
        "required_throughput": 30,
        "deadline_ms": 250,
        "objectives": [
            {
                "metric": "miss_rate",
                "classes": [1, 6],
                "aggregate": "prod",
                "direction": "min",
                "min": 1e-6,
                "max": 0.1,
                "scale": {"kind": "log", "base": 10},
                "weight": 2,
            },
            {"metric": "accuracy", "direction": "maximize", "min": 0.5, "max": 1.0},
        ],
        "constraints": [{"metric": "cost", "max": 5.0}],
    }
    doc.update(changes)
    return doc


def problem_locations(exc: pytest.ExceptionInfo[InvalidInput]) -> list[str]:
    return [p.location for p in exc.value.problems]


def test_own_schema_normalises_aliases_and_names() -> None:
    contract = parse_contract(own_contract())
    miss, accuracy = contract.objectives
    assert miss.name == "miss_rate[1,6]" and miss.aggregation is Aggregation.PRODUCT
    assert miss.direction is Direction.MINIMIZE and miss.scale.base == 10
    assert accuracy.aggregation is Aggregation.COMPLEMENT_PRODUCT  # default for accuracy
    # the deadline adds a cap on the slowest member's p99
    implied = contract.all_constraints()[-1]
    assert implied.metric is MetricKind.RESPONSE_TIME_P99 and implied.max == 250


@pytest.mark.parametrize(
    ("changes", "location"),
    [
        ({"ensemble": {"min": 3, "max": 2}}, "ensemble"),
        ({"ensemble": {"min": 1, "max": 0}}, "ensemble"),
        ({"deadline_ms": 0}, "deadline_ms"),
        ({"deadline_ms": -5}, "deadline_ms"),
        ({"required_throughput": 0}, "required_throughput"),
        (
            {"objectives": [{"metric": "accuracy", "aggregate": "median", "direction": "max", "min": 0, "max": 1}]},
            "objectives[0].aggregate",
        ),
        (
            {
                "objectives": [
                    {"metric": "accuracy", "direction": "max", "min": 0.1, "max": 1, "scale": {"kind": "sqrt"}}
                ]
            },
            "objectives[0].scale.kind",
        ),
        ({"objectives": [{"metric": "accuracy", "direction": "max", "min": 0.9, "max": 0.9}]}, "objectives[0]"),
        ({"objectives": [{"metric": "latency", "direction": "max", "min": 0, "max": 1}]}, "objectives[0].metric"),
        (
            {"objectives": [{"metric": "accuracy", "direction": "max", "min": 0, "max": 1, "weight": -1}]},
            "objectives[0].weight",
        ),
        (
            {"objectives": [{"metric": "cost", "direction": "min", "min": 0, "max": 1, "scale": {"kind": "log"}}]},
            "objectives[0]",
        ),
        ({"objectives": []}, "objectives"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_own_schema_rejects_bad_input_naming_the_field(changes: dict[str, Any], location: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_contract(own_contract(**changes))
    assert location in problem_locations(exc), problem_locations(exc)


def test_rohe_selection_contract_loads_as_published() -> None:
    contract = load_contract(require(ENSEMBLE_SELECTION / "contract.yaml"))
    assert (contract.ensemble.min, contract.ensemble.max, contract.required_throughput) == (3, 3, 60)
    by_name = {o.name: o for o in contract.objectives}
    assert list(by_name) == [
        "missRateOfClass1and6",
        "missRateOfClass1",
        "generalAccuracy",
        "confidenceOnClass1",
        "cost",
    ]
    miss = by_name["missRateOfClass1and6"]
    assert (miss.metric, miss.classes, miss.aggregation) == (MetricKind.MISS_RATE, (1, 6), Aggregation.PRODUCT)
    assert miss.min == 1e-10  # YAML reads "1e-10" as a string; it must still become a number
    assert by_name["generalAccuracy"].aggregation is Aggregation.COMPLEMENT_PRODUCT
    assert by_name["confidenceOnClass1"].aggregation is Aggregation.MEAN
    assert by_name["cost"].direction is Direction.MINIMIZE and by_name["cost"].scale.base == 2


def rohe_doc(**metric_changes: Any) -> dict[str, Any]:
    metric = {"operator": "prod", "weight": 1, "min_value": 0.001, "max_value": 0.1, "objective": "min", "scale": "log"}
    metric.update(metric_changes)
    return {"mlSpecific": {"missRateOfClass1": metric}, "ensemble": {"min": 1, "max": 2}, "service": {"throughput": 5}}


@pytest.mark.parametrize(
    ("changes", "location"),
    [
        ({"operator": "median"}, "mlSpecific.missRateOfClass1.operator"),
        ({"scale": "sqrt"}, "mlSpecific.missRateOfClass1.scale"),
        ({"objective": "best"}, "mlSpecific.missRateOfClass1.objective"),
        ({"logbase": 1}, "mlSpecific.missRateOfClass1.logbase"),
        ({"min_value": 0.5}, "mlSpecific.missRateOfClass1"),
        ({"colour": "red"}, "mlSpecific.missRateOfClass1.colour"),
    ],
)
def test_rohe_selection_contract_errors_use_rohe_field_names(changes: dict[str, Any], location: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        contract_from_rohe_selection(rohe_doc(**changes))
    assert location in problem_locations(exc), problem_locations(exc)


def test_rohe_selection_contract_rejects_unknown_metric_and_sections() -> None:
    doc = rohe_doc()
    doc["mlSpecific"]["happiness"] = doc["mlSpecific"]["missRateOfClass1"]
    doc["ensemble"] = {"min": 2, "max": 1}
    del doc["service"]
    with pytest.raises(InvalidInput) as exc:
        contract_from_rohe_selection(doc)
    locations = problem_locations(exc)
    assert {"mlSpecific.happiness", "service"} <= set(locations)


def test_rohe_metric_names() -> None:
    assert rohe_metric_kind("missRateOfClass1and6") == (MetricKind.MISS_RATE, (1, 6))
    assert rohe_metric_kind("confidenceOnClass12") == (MetricKind.CONFIDENCE, (12,))
    assert rohe_metric_kind("generalAccuracy") == (MetricKind.ACCURACY, ())
    assert rohe_metric_kind("vibes") is None


@pytest.mark.parametrize("name", ["bts", "cctvs", "object_classification", "smart_building"])
def test_every_application_contract_loads(name: str) -> None:
    contract = load_contract(require(CONTRACTS / f"{name}.yaml"))
    assert contract.slo is not None
    assert contract.required_throughput == contract.slo.performance_slo.throughput_rps
    assert contract.slo.quality_slo.cdm_thresholds.keys() <= contract.slo.cdm_definitions.keys()
    for clause in (
        *contract.slo.quality_slo.builtin_metrics.values(),
        *contract.slo.quality_slo.cdm_thresholds.values(),
    ):
        assert clause.window_s == 300
    assert {o.metric for o in contract.objectives} == {MetricKind.ACCURACY, MetricKind.CONFIDENCE}
    p99 = contract.slo.performance_slo.response_time_p99_ms
    assert any(c.metric is MetricKind.RESPONSE_TIME_P99 and c.max == p99 for c in contract.constraints)


def test_application_contract_rejects_undefined_cdm_and_bad_operator() -> None:
    doc = {
        "contract": {
            "contract_id": "x",
            "tenant_id": "t",
            "pipeline_id": "p",
            "effective_from": "2024-01-01",
            "performance_slo": {"response_time_p99_ms": 100, "throughput_rps": 5, "availability_percent": 99},
            "quality_slo": {
                "builtin_metrics": {
                    "accuracy": {"operator": "~", "value": 0.8, "window": "5m", "action_on_violation": "alert"}
                },
            },
        },
    }
    with pytest.raises(InvalidInput) as exc:
        parse_application_slo(doc)
    assert "contract.quality_slo.builtin_metrics.accuracy.operator" in problem_locations(exc)
    doc["contract"]["quality_slo"] = {
        "cdm_thresholds": {"drift": {"operator": "<", "value": 1, "window": "5m", "action_on_violation": "alert"}}
    }
    with pytest.raises(InvalidInput) as exc:
        parse_application_slo(doc)
    assert "contract.quality_slo.cdm_thresholds.drift" in problem_locations(exc)


def test_window_parsing() -> None:
    assert window_seconds("90s") == 90 and window_seconds("1h") == 3600
    with pytest.raises(ValueError, match="duration"):
        window_seconds("five minutes")


def test_miss_rate_of_a_as_b_is_rohe_s_ratio_over_class_a() -> None:
    from rohe.core.contracts import miss_rate_definition, miss_rate_name

    assert miss_rate_name((1, 6)) == "missRateOfClass1and6"
    assert rohe_metric_kind(miss_rate_name((1, 6, 7))) == (MetricKind.MISS_RATE, (1, 6, 7))
    missed, total = miss_rate_definition((1, 6, 7)).expression.operands
    assert missed["filters"] == {"true_class": "1", "correct": "false", "predicted_class": ["6", "7"]}
    assert total["filters"] == {"true_class": "1"}
    assert miss_rate_definition((3,)).expression.operands[0]["filters"] == {"true_class": "3", "correct": "false"}
