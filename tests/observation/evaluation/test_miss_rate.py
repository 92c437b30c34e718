"""ROHE's "miss rate of class A as B", computed from reports, against ROHE's published definition.

ROHE (config/database/exMetric.yaml in its repository) defines, per inference record with `label_class`,
`predicted_class` and `accuracy` (1 right, 0 wrong):
  missRateOfClass1and6 = #(label_class = 1, predicted_class = 6, accuracy = 0) / #(label_class = 1)
  missRateOfClass1     = #(label_class = 1, accuracy = 0) / #(label_class = 1)
The reference below evaluates that definition on records; rohe computes it from the gateway's request and
feedback reports through the window functions the observation agent runs.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rohe.core.contracts import ConsumerContract, parse_contract
from rohe.observation.evaluation import ContractEvaluator, combine_windows, contract_window_functions
from rohe.observation.reports import Report

from .builders import window
from .test_cdm import feedback, request

Record = tuple[int, int | None]  # (label, prediction; None when the request was answered with no class)


def rohe_ex_metric(records: list[Record], label: int, predicted_as: int | None) -> float | None:
    """ROHE's exMetric: conditions are equalities on the record's fields, variables are counts."""
    rows = [{"label_class": y, "predicted_class": p, "accuracy": int(p == y)} for y, p in records]

    def count(**conditions: int) -> int:
        return sum(all(row[k] == v for k, v in conditions.items()) for row in rows)

    total = count(label_class=label)
    if total == 0:
        return None
    if predicted_as is None:
        return count(label_class=label, accuracy=0) / total
    return count(label_class=label, predicted_class=predicted_as, accuracy=0) / total


def contract(*classes: int) -> ConsumerContract:
    return parse_contract({
        "consumer": "tenant-a", "ensemble": {"min": 1, "max": 3}, "required_throughput": 10,
        "objectives": [{"metric": "accuracy", "direction": "max", "min": 0, "max": 1}],
        "constraints": [{"metric": "miss_rate", "classes": list(classes), "max": 0.2}],
    })


def reports_of(records: list[Record], unlabelled: int = 0) -> list[Report]:
    reports = []
    for i, (label, predicted) in enumerate(records):
        fields: dict[str, Any] = {} if predicted is None else {"predicted_class": str(predicted)}
        reports += [request(i, **fields), feedback(i, str(label))]
        reports.append(request(i, model_id="m1", predicted_class=str(label)))  # members do not count
    n = len(records)
    reports += [request(n + j, predicted_class="6") for j in range(unlabelled)]  # no label: not judged
    return reports


def observed(classes: tuple[int, ...], reports: list[Report]) -> dict[str, float]:
    (function,) = contract_window_functions([contract(*classes)]).values()
    return function(reports)


def test_hand_checked_window() -> None:
    # five class-1 requests: two answered 6, one answered 3, two right; one class-6 request answered 1
    records: list[Record] = [(1, 6), (1, 6), (1, 3), (1, 1), (1, 1), (6, 1)]
    values = observed((1, 6), reports_of(records, unlabelled=4))
    assert values["missRateOfClass1and6"] == 2 / 5 == rohe_ex_metric(records, 1, 6)
    assert (values["numerator"], values["denominator"]) == (2, 5)
    # the old reading, mean of class 1's (3/5) and class 6's (1/1) miss rates, would say 0.8
    assert observed((1, 3, 6), reports_of(records))["missRateOfClass1and3and6"] == 3 / 5


labels = st.integers(0, 7)
records_strategy = st.lists(st.tuples(labels, st.one_of(st.none(), labels)), max_size=60)


@settings(max_examples=80, deadline=None)
@given(records=records_strategy, label=labels, other=labels)
def test_matches_rohe_definition_and_is_part_of_the_class_miss_rate(records: list[Record], label: int,
                                                                     other: int) -> None:
    if other == label:
        other = (label + 1) % 8
    values = observed((label, other), reports_of(records))
    name = f"missRateOfClass{label}and{other}"
    # ROHE counts a label-A record with no prediction in its total; rohe judges only answered requests.
    answered = [(y, p) for y, p in records if p is not None]
    expected = rohe_ex_metric(answered, label, other)
    assert values.get(name) == expected
    overall = rohe_ex_metric(answered, label, None)
    if expected is not None and overall is not None:
        assert expected <= overall
    # A's own miss rate is a window field (class_miss_rate), not a custom metric
    assert contract_window_functions([contract(label)]) == {}


def test_a_clause_on_1_as_6_is_judged_on_the_agent_value_over_its_span() -> None:
    evaluator = ContractEvaluator([contract(1, 6)])
    first = observed((1, 6), reports_of([(1, 6), (1, 1), (1, 1), (1, 1)]))  # 1/4
    second = observed((1, 6), reports_of([(1, 6), (1, 6), (1, 1), (1, 1)]))  # 2/4
    as_custom = [{"missRateOfClass1and6": v["missRateOfClass1and6"], "missRateOfClass1and6.numerator": v["numerator"],
                  "missRateOfClass1and6.denominator": v["denominator"]} for v in (first, second)]
    assert evaluator.evaluate(window(0, custom=as_custom[0])) != []  # 0.25 > 0.2
    span = combine_windows([window(0, custom=as_custom[0]), window(1, custom=as_custom[1])])
    assert span.custom["missRateOfClass1and6"] == 3 / 8


def test_an_application_contract_naming_the_metric_gets_its_window_function() -> None:
    from rohe.core.contracts import contract_from_rohe_application

    doc = {"contract": {
        "contract_id": "c", "tenant_id": "t", "pipeline_id": "p", "effective_from": "2024-01-01T00:00:00Z",
        "performance_slo": {"response_time_p99_ms": 500, "throughput_rps": 10, "availability_percent": 99},
        "quality_slo": {"builtin_metrics": {
            "accuracy": {"operator": ">=", "value": 0.8, "window": "5m", "action_on_violation": "alert"},
            "missRateOfClass1and6": {"operator": "<", "value": 0.1, "window": "5m", "action_on_violation": "alert"},
        }},
    }}
    functions = contract_window_functions([contract_from_rohe_application(doc)])
    assert set(functions) == {"missRateOfClass1and6"}
    assert functions["missRateOfClass1and6"](reports_of([(1, 6), (1, 1)]))["missRateOfClass1and6"] == 0.5
