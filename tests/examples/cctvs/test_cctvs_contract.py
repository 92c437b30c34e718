"""ROHE's cctvs contract evaluated on a hand-made window: only non-background answers are detections."""

from __future__ import annotations

import pytest

from example_apps_helpers import agent_custom, feedback_report, request_report
from rohe.core.contracts import load_contract
from rohe.examples.cctvs import data_file
from rohe.examples.cctvs.scenes import BACKGROUND, PERSON, VEHICLE


def test_misclassification_and_false_positive_rates_on_a_hand_made_window() -> None:
    import rohe.examples.cctvs  # noqa: F401  (registers the cctvs vocabulary)

    # (answered, truth): 2 right detections, 1 wrong class, 2 false positives, 2 background answers
    cases = [(PERSON, PERSON), (VEHICLE, VEHICLE), (PERSON, VEHICLE), (PERSON, BACKGROUND),
             (VEHICLE, BACKGROUND), (BACKGROUND, BACKGROUND), (BACKGROUND, PERSON)]
    reports = []
    for i, (answered, truth) in enumerate(cases):
        reports += [request_report("cctvs", i, answered), feedback_report("cctvs", i, truth)]
    reports.append(request_report("cctvs", 99, PERSON))  # unlabelled: not judged
    values = agent_custom(load_contract(data_file("rohe-cctvs.yaml")), reports)
    assert values["misclassification_rate.denominator"] == 5
    assert values["misclassification_rate"] == pytest.approx(3 / 5)
    assert values["false_positive_rate"] == pytest.approx(2 / 5)
