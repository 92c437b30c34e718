"""ROHE's smart_building contract evaluated on a hand-made window of multimodal gateway reports."""

from __future__ import annotations

import pytest

from example_apps_helpers import agent_custom, feedback_report, member_report, request_report
from rohe.core.contracts import load_contract
from rohe.examples.smart_building import data_file

APP = "smart-building"


def test_per_modality_accuracy_and_cross_modal_agreement_on_a_hand_made_window() -> None:
    import rohe.examples.smart_building  # noqa: F401  (registers the smart-building vocabulary)

    reports = []
    # 0: both modalities right; 1: video wrong (its two members outvote by confidence); 2: series only
    reports += [request_report(APP, 0, 1), member_report(APP, 0, "MINI_ROCKET", 1, modality="timeseries"),
                member_report(APP, 0, "FRAME_LINEAR", 1, modality="video"), feedback_report(APP, 0, 1)]
    reports += [request_report(APP, 1, 2), member_report(APP, 1, "MINI_ROCKET", 2, modality="timeseries"),
                member_report(APP, 1, "FRAME_LINEAR", 3, 0.9, modality="video"),
                member_report(APP, 1, "FRAME_MLP", 2, 0.4, modality="video"), feedback_report(APP, 1, 2)]
    reports += [request_report(APP, 2, 0), member_report(APP, 2, "MINI_ROCKET_S", 3, modality="timeseries"),
                feedback_report(APP, 2, 0)]
    values = agent_custom(load_contract(data_file("rohe-smart_building.yaml")), reports)
    assert values["video_accuracy"] == pytest.approx(1 / 2)
    assert values["timeseries_accuracy"] == pytest.approx(2 / 3)
    assert values["cross_modal_agreement.denominator"] == 2
    assert values["cross_modal_agreement"] == pytest.approx(1 / 2)
