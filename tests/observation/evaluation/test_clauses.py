"""Every clause kind on crafted windows, violated and not, for rohe's schema and ROHE's application contracts."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from rohe.core.contracts import ConsumerContract, load_contract, parse_application_slo, parse_contract
from rohe.core.errors import InvalidInput
from rohe.observation.agent.config import load_agent_config
from rohe.observation.evaluation import (
    ContractEvaluator,
    builtin_metric,
    clauses_for,
    load_contracts,
)
from rohe.observation.evaluation.wiring import evaluation_for
from rohe.observation.metrics import ModelStats

from .builders import ROHE_CONTRACTS, window

OBJECT_CLASSIFICATION = Path(ROHE_CONTRACTS) / "object_classification.yaml"


def own_contract() -> ConsumerContract:
    return parse_contract({
        "consumer": "tenant-a", "ensemble": {"min": 1, "max": 3}, "required_throughput": 10, "deadline_ms": 250,
        "objectives": [{"metric": "accuracy", "direction": "max", "min": 0, "max": 1}],
        "constraints": [{"metric": "accuracy", "min": 0.9}, {"metric": "miss_rate", "classes": [1, 6], "max": 0.2},
                        {"metric": "cost", "aggregate": "sum", "max": 5}],
    })


def test_own_schema_contract_yields_throughput_deadline_and_quality_clauses() -> None:
    texts = [c.text for c in clauses_for(own_contract())]
    assert texts == ["deadline_ms <= 250", "constraints[0].min >= 0.9",
                     "constraints[1].max <= 0.2"]


def own_window(index: int, **fields: object) -> object:
    """A healthy window for own_contract: it also carries the class-1-as-6 miss rate the agent computes."""
    values: dict[str, object] = {"custom": {"missRateOfClass1and6": 0.05}}
    values.update(fields)
    return window(index, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "metric", "observed"),
    [
        ({"p99": 300.0}, "end_to_end.p99_ms", 300.0),
        ({"accuracy": 0.8}, "accuracy", 0.8),
        ({"custom": {"missRateOfClass1and6": 0.3}}, "custom.missRateOfClass1and6", 0.3),
    ],
)
def test_own_schema_clause_violated(fields: dict[str, object], metric: str, observed: float) -> None:
    evaluator = ContractEvaluator([own_contract()])
    assert evaluator.evaluate(own_window(0)) == []  # type: ignore[arg-type]
    violations = evaluator.evaluate(own_window(1, **fields))  # type: ignore[arg-type]
    assert [v.metric for v in violations] == [metric]
    assert violations[0].observed == pytest.approx(observed)
    assert violations[0].explanation


def test_a_quiet_window_does_not_break_a_selection_contract() -> None:
    # required_throughput is what the replicas must sustain, not a rate the consumer promises to send.
    assert ContractEvaluator([own_contract()]).evaluate(own_window(1, requests=50)) == []  # type: ignore[arg-type]


def test_class_1_missed_as_other_classes_does_not_break_a_limit_on_1_as_6() -> None:
    # Class 1 is often wrong (40%) and class 6 too, but never is a 1 answered as 6: ROHE's missRateOfClass1and6
    # is 0 here. Reading it as the mean of the two classes' miss rates (0.45) broke the 0.2 limit.
    quiet = own_window(1, class_miss_rate={"1": 0.4, "6": 0.5}, custom={"missRateOfClass1and6": 0.0})
    assert ContractEvaluator([own_contract()]).evaluate(quiet) == []  # type: ignore[arg-type]


def rohe_evaluator() -> ContractEvaluator:
    contract = load_contract(OBJECT_CLASSIFICATION)
    return ContractEvaluator({"tenant-a": contract})


def healthy(index: int, **fields: object) -> object:
    values: dict[str, object] = {"custom": {"top5_error_rate": 0.05}, "requests": 200}
    values.update(fields)
    return window(index, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "clause", "observed"),
    [
        ({"p99": 650.0}, "performance_slo.response_time_p99_ms <= 500", 650.0),
        ({"requests": 20}, "performance_slo.throughput_rps >= 10", 2.0),
        ({"errors": 10}, "performance_slo.availability_percent >= 99", 95.0),
        ({"accuracy": 0.6}, "quality_slo.builtin_metrics.accuracy >= 0.85 over 5m", 0.6),
        ({"confidence_mean": 0.5}, "quality_slo.builtin_metrics.confidence >= 0.7 over 5m", 0.5),
        ({"custom": {"top5_error_rate": 0.3}}, "quality_slo.cdm_thresholds.top5_error_rate < 0.1 over 5m", 0.3),
    ],
)
def test_rohe_application_contract_clause_kinds(fields: dict[str, object], clause: str, observed: float) -> None:
    evaluator = rohe_evaluator()
    assert evaluator.evaluate(healthy(0)) == []  # type: ignore[arg-type]
    violations = evaluator.evaluate(healthy(0, **fields))  # type: ignore[arg-type]
    assert [v.clause for v in violations] == [clause]
    assert violations[0].observed == pytest.approx(observed)
    action = {"accuracy": "alert", "confidence": "degrade", "top5_error_rate": "reroute"}
    expected = next((a for k, a in action.items() if k in clause), "alert")
    assert violations[0].action.value == expected


@pytest.mark.parametrize("name", ["bts.yaml", "cctvs.yaml", "object_classification.yaml", "smart_building.yaml"])
def test_every_rohe_contract_loads_and_evaluates(name: str) -> None:
    contract = load_contract(Path(ROHE_CONTRACTS) / name)
    assert contract.slo is not None
    cdm = {metric: (0.01 if clause.operator.value.startswith("<") else 0.99)
           for metric, clause in contract.slo.quality_slo.cdm_thresholds.items()}
    evaluator = ContractEvaluator([contract])
    assert evaluator.evaluate(window(0, consumer=contract.consumer, custom=cdm)) == []
    without_cdm = ContractEvaluator([contract]).evaluate(window(0, consumer=contract.consumer))
    assert {v.metric for v in without_cdm} == {f"custom.{m}" for m in cdm}
    assert all(v.observed is None for v in without_cdm)


def test_five_minute_clause_combines_counts_over_its_windows() -> None:
    evaluator = rohe_evaluator()
    bad = healthy(0, labelled=1000, accuracy=0.5)  # one early window with many labelled misses
    assert [v.metric for v in evaluator.evaluate(bad)] == ["accuracy"]  # type: ignore[arg-type]
    for i in range(1, 29):
        found = evaluator.evaluate(healthy(i, labelled=100, accuracy=0.95))  # type: ignore[arg-type]
    expected = (1000 * 0.5 + 28 * 100 * 0.95) / (1000 + 28 * 100)
    assert [v.metric for v in found] == ["accuracy"]
    assert found[0].observed == pytest.approx(expected)
    assert (found[0].window_end - found[0].window_start).total_seconds() == pytest.approx(290)
    # Once the bad window has left the 5-minute span, the clause holds again.
    for i in range(29, 31):
        found = evaluator.evaluate(healthy(i, labelled=100, accuracy=0.95))  # type: ignore[arg-type]
    assert found == []


def test_performance_clause_judges_the_closing_window_alone() -> None:
    evaluator = rohe_evaluator()
    assert evaluator.evaluate(healthy(0, p99=900.0))  # type: ignore[arg-type]
    assert evaluator.evaluate(healthy(1)) == []  # type: ignore[arg-type]


def test_missing_quality_data_is_a_violation_unless_ignored() -> None:
    unlabelled = healthy(0, labelled=0, accuracy=None)
    violations = rohe_evaluator().evaluate(unlabelled)  # type: ignore[arg-type]
    assert [(v.metric, v.observed) for v in violations] == [("accuracy", None)]
    assert "no data" in violations[0].explanation
    lenient = ContractEvaluator([load_contract(OBJECT_CLASSIFICATION)], missing_data="ignore")
    assert lenient.evaluate(unlabelled.model_copy(update={"consumer": "obj-class-sla-001"})) == []  # type: ignore[attr-defined]


def test_an_idle_window_is_one_throughput_violation_blaming_the_workload() -> None:
    idle = window(0, requests=0, end_to_end=None, stages={}, labelled=0, accuracy=None, confidence_mean=None,
                  models={}, custom={})
    violations = rohe_evaluator().evaluate(idle)
    assert [(v.metric, v.observed) for v in violations] == [("throughput_rps", 0.0)]
    assert violations[0].causes[0].name == "no requests"


def test_other_consumers_and_kinds_are_not_judged() -> None:
    evaluator = rohe_evaluator()
    assert evaluator.evaluate(healthy(0, consumer="someone-else", p99=5000.0)) == []  # type: ignore[arg-type]
    assert evaluator.evaluate(healthy(0, consumer="*", p99=5000.0)) == []  # type: ignore[arg-type]


def test_unknown_builtin_metric_is_invalid_input_naming_the_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        builtin_metric("happiness", "contract.quality_slo.builtin_metrics.happiness")
    assert caught.value.problems[0].location == "contract.quality_slo.builtin_metrics.happiness"
    assert "accuracy" in caught.value.problems[0].hint
    document = {"contract": {
        "contract_id": "c", "tenant_id": "t", "pipeline_id": "p", "effective_from": "2024-01-01",
        "performance_slo": {"response_time_p99_ms": 100, "throughput_rps": 1, "availability_percent": 99},
        "quality_slo": {"builtin_metrics": {"happiness": {"operator": ">=", "value": 1, "window": "1m",
                                                          "action_on_violation": "alert"}}}}}
    contract = ConsumerContract(consumer="c", ensemble={"max": 1}, required_throughput=1,  # type: ignore[arg-type]
                                objectives=[{"metric": "accuracy", "direction": "max", "min": 0, "max": 1}],
                                slo=parse_application_slo(document))
    with pytest.raises(InvalidInput, match="unknown metric"):
        ContractEvaluator([contract])


def test_unknown_operator_in_a_contract_file_names_the_field(tmp_path: Path) -> None:
    original = 'operator: ">="\n        value: 0.85'
    text = OBJECT_CLASSIFICATION.read_text().replace(original, original.replace(">=", "=>"))
    broken = tmp_path / "broken.yaml"
    broken.write_text(text)
    with pytest.raises(InvalidInput) as caught:
        load_contracts([broken])
    assert any(p.location == "contract.quality_slo.builtin_metrics.accuracy.operator" for p in caught.value.problems)


def test_rohe_class_metric_names_resolve_to_class_fields() -> None:
    metric = builtin_metric("missRateOfClass1and6", "x")
    assert metric.label == "custom.missRateOfClass1and6"  # class 1 answered as 6: computed from the reports
    assert metric.extract(window(0, class_miss_rate={"1": 0.2, "6": 0.4}, custom={"missRateOfClass1and6": 0.05})) \
        == 0.05
    assert builtin_metric("missRateOfClass1", "x").extract(window(0, class_miss_rate={"1": 0.2, "6": 0.4})) == 0.2
    assert builtin_metric("accuracyOfClass3", "x").extract(window(0, class_accuracy={"3": 0.7})) == 0.7
    assert builtin_metric("prediction_accuracy", "x").label == "accuracy"


def test_per_model_stats_survive_span_combination() -> None:
    evaluator = rohe_evaluator()
    models = {"m1": ModelStats(requests=10, labelled=10, accuracy=0.2)}
    evaluator.evaluate(healthy(0, accuracy=0.5, models=models))  # type: ignore[arg-type]
    found = evaluator.evaluate(healthy(1, accuracy=0.5, models=models))  # type: ignore[arg-type]
    assert found[0].causes[0].name == "m1"
    assert "20.0%" in found[0].causes[0].evidence


def test_a_consumer_that_falls_silent_is_a_throughput_violation_once() -> None:
    evaluator = rohe_evaluator()
    last = healthy(0)
    evaluator.evaluate(last)  # type: ignore[arg-type]
    end = last.end  # type: ignore[attr-defined]
    assert evaluator.check_silence(end + timedelta(seconds=30), after_s=60) == []
    (silent,) = evaluator.check_silence(end + timedelta(seconds=61), after_s=60)
    assert (silent.metric, silent.observed, silent.window_start) == ("throughput_rps", 0.0, end)
    assert silent.causes[0].name == "no requests"
    assert evaluator.check_silence(end + timedelta(seconds=120), after_s=60) == []
    evaluator.evaluate(healthy(20))  # type: ignore[arg-type]
    assert len(evaluator.check_silence(end + timedelta(seconds=400), after_s=60)) == 1


def test_a_re_emitted_window_gives_the_same_violation_id() -> None:
    first = rohe_evaluator().evaluate(healthy(0, p99=900.0))  # type: ignore[arg-type]
    again = rohe_evaluator().evaluate(healthy(0, p99=950.0))  # type: ignore[arg-type]
    assert [v.violation_id for v in first] == [v.violation_id for v in again]
    assert first[0].violation_id != rohe_evaluator().evaluate(healthy(1, p99=900.0))[0].violation_id  # type: ignore[arg-type]


def test_evaluation_for_an_agent_config(tmp_path: Path) -> None:
    config_file = tmp_path / "agent.yaml"
    config_file.write_text(f"app: vision\nwindows: [{{kind: sliding, size_s: 10, step_s: 5}}]\n"
                           f"contracts: [{OBJECT_CLASSIFICATION.resolve()}]\n"
                           "actions: {gateway_url: 'http://127.0.0.1:9'}\n")
    wiring = evaluation_for(load_agent_config(config_file), None)
    assert list(wiring.window_functions) == ["top5_error_rate"]
    assert wiring.actions is not None and wiring.evaluator.consumers() == ["obj-class-sla-001"]
    assert wiring.evaluator.evaluate(healthy(0, consumer="obj-class-sla-001")) == []  # tumbling: not this kind
    wiring.actions.close()
