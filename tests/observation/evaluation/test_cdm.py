"""Consumer-defined metrics computed from reports, recombined over spans, and rejected when malformed."""

from __future__ import annotations

import random
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from rohe.core.contracts import ConsumerContract, load_contract
from rohe.core.errors import Conflict, InvalidInput
from rohe.observation.evaluation import (
    ContractEvaluator,
    cdm_window_function,
    combine_windows,
    contract_window_functions,
)
from rohe.observation.reports import Report, ReportKind, RequestStatus

from .builders import ROHE_CONTRACTS, T0, window


def request(i: int, **fields: Any) -> Report:
    values: dict[str, Any] = {"app": "vision", "run": "r1", "kind": ReportKind.REQUEST, "consumer": "tenant-a",
                              "request_id": f"req-{i}", "status": RequestStatus.OK, "timestamp": T0}
    values.update(fields)
    return Report(**values)


def feedback(i: int, true_class: str, **attributes: str) -> Report:
    return Report(app="vision", run="r1", kind=ReportKind.FEEDBACK, request_id=f"req-{i}", true_class=true_class,
                  attributes=attributes)


def agent_custom(contract: ConsumerContract, reports: list[Report]) -> dict[str, float]:
    """What the observation agent stores in WindowMetrics.custom: a function's own name unprefixed, parts as
    `name.part` (rohe.observation.agent.aggregate)."""
    custom: dict[str, float] = {}
    for name, function in contract_window_functions([contract]).items():
        for key, value in function(reports).items():
            custom[name if key == name else f"{name}.{key}"] = value
    return custom


def top5_reports(seed: int, count: int) -> tuple[list[Report], int]:
    rng = random.Random(seed)
    flags = [rng.random() < 0.2 for _ in range(count)]
    reports = [request(i, predicted_class="3", attributes={"top5_correct": "false" if miss else "true"})
               for i, miss in enumerate(flags)]
    # Member answers and resource samples must not count as requests.
    reports += [request(i, model_id="m1", predicted_class="3") for i in range(count)]
    return reports, sum(flags)


def test_top5_error_rate_is_computed_from_reports() -> None:
    contract = load_contract(Path(ROHE_CONTRACTS) / "object_classification.yaml")
    function = partial(agent_custom, contract)
    reports, misses = top5_reports(seed=7, count=250)
    values = function(reports)
    assert values["top5_error_rate.numerator"] == misses
    assert values["top5_error_rate.denominator"] == 250
    assert values["top5_error_rate"] == pytest.approx(misses / 250)


def test_ratio_over_a_span_is_sum_of_numerators_over_sum_of_denominators() -> None:
    contract = load_contract(Path(ROHE_CONTRACTS) / "object_classification.yaml")
    function = partial(agent_custom, contract)
    small, small_misses = top5_reports(seed=1, count=20)
    large, large_misses = top5_reports(seed=2, count=400)
    windows = [window(0, custom=function(small)), window(1, custom=function(large))]
    combined = combine_windows(windows)
    assert combined.custom["top5_error_rate"] == pytest.approx((small_misses + large_misses) / 420)
    evaluator = ContractEvaluator([contract.model_copy(update={"consumer": "tenant-a"})])
    evaluator.evaluate(windows[0])
    found = [v for v in evaluator.evaluate(windows[1]) if v.metric == "custom.top5_error_rate"]
    expected = (small_misses + large_misses) / 420
    assert (found[0].observed if found else None) == (pytest.approx(expected) if expected >= 0.1 else None)


def test_correct_is_derived_from_feedback_in_the_window() -> None:
    contract = load_contract(Path(ROHE_CONTRACTS) / "smart_building.yaml")
    function = partial(agent_custom, contract)
    reports = [request(i, predicted_class="1", attributes={"modality": "video"}) for i in range(10)]
    reports += [feedback(i, "1" if i < 7 else "2") for i in range(10)]
    reports += [request(100 + i, predicted_class="1", attributes={"modality": "timeseries"}) for i in range(4)]
    values = function(reports)
    assert values["video_accuracy"] == pytest.approx(0.7)
    assert "timeseries_accuracy" not in values  # no feedback, no 'correct' label: no value rather than a wrong one
    assert values["timeseries_accuracy.denominator"] == 0


def test_mean_absolute_error_and_member_disagreement() -> None:
    contract = load_contract(Path(ROHE_CONTRACTS) / "bts.yaml")
    function = partial(agent_custom, contract)
    reports = [request(i, attributes={"energy_forecast_kwh": v}) for i, v in ((0, "10"), (1, "4"))]
    reports += [feedback(0, "x", actual_energy_kwh="12"), feedback(1, "x", actual_energy_kwh="5")]
    reports += [request(0, model_id=m, attributes={"energy_forecast_kwh": v}) for m, v in (("a", "9"), ("b", "11"))]
    reports += [request(1, model_id=m, attributes={"energy_forecast_kwh": v}) for m, v in (("a", "4"), ("b", "4"))]
    values = function(reports)
    assert values["forecast_mae"] == pytest.approx((2 + 1) / 2)
    assert values["prediction_variance"] == pytest.approx((1.0 + 0.0) / 2)


@pytest.mark.parametrize(
    ("expression", "location"),
    [
        ({"type": "median", "operands": [{"type": "count"}]}, "cdm_definitions.bad.expression.type"),
        ({"type": "ratio", "operands": [{"type": "count"}]}, "cdm_definitions.bad.expression.operands"),
        ({"type": "ratio", "operands": [{"type": "count"}, {"type": "bogus"}]},
         "cdm_definitions.bad.expression.operands[1].type"),
        ({"type": "mean", "operands": [{"type": "field"}]}, "cdm_definitions.bad.expression.operands[0].field"),
        ({"type": "count", "filters": ["a"]}, "cdm_definitions.bad.expression.filters"),
    ],
)
def test_malformed_expressions_name_the_field(expression: dict[str, Any], location: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        cdm_window_function({"bad": {"expression": expression}})
    assert caught.value.problems[0].location == location


def test_window_function_ignores_reports_of_other_kinds() -> None:
    function = cdm_window_function({"errors": {"expression": {"type": "ratio", "operands": [
        {"type": "count", "filters": {"status": "error"}}, {"type": "count"}]}}})
    reports = [request(0), request(1, status=RequestStatus.ERROR), feedback(0, "1")]
    assert function(reports)["errors"] == 0.5
    assert function([])["errors.denominator"] == 0
    assert "errors" not in function([])
    assert window(0).end - window(0).start == timedelta(seconds=10)


def test_direct_and_agent_naming_agree_and_clashing_definitions_conflict() -> None:
    contract = load_contract(Path(ROHE_CONTRACTS) / "cctvs.yaml")
    assert contract.slo is not None
    reports = [request(i, attributes={"detection_correct": "false" if i % 4 == 0 else "true",
                                      "is_false_positive": "false"}) for i in range(12)]
    assert cdm_window_function(contract.slo.cdm_definitions)(reports) == agent_custom(contract, reports)
    assert agent_custom(contract, reports)["misclassification_rate"] == pytest.approx(3 / 12)
    other = contract.slo.cdm_definitions["misclassification_rate"].model_copy(update={"description": "changed"})
    slo = contract.slo.model_copy(update={"cdm_definitions": {"misclassification_rate": other}})
    clash = contract.model_copy(update={"consumer": "other", "slo": slo})
    with pytest.raises(Conflict):
        contract_window_functions([contract, clash])
