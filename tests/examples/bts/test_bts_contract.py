"""ROHE's bts contract, shipped with the example, evaluated on a hand-made window of gateway reports."""

from __future__ import annotations

import pytest

from example_apps_helpers import agent_custom, feedback_report, member_report, request_report
from rohe.core.contracts import load_contract
from rohe.examples.bts import CONTRACT_FILES, data_file
from rohe.examples.bts.series import BIN_KWH
from rohe.observation.reports import Report
from shared_inputs import CONTRACTS

APP = "bts"


def centre(k: int) -> float:
    return (k + 0.5) * BIN_KWH


def window() -> list[Report]:
    # request: ensemble bin, members' bins, actual bin
    cases = [(4, (4, 5), 4), (6, (6, 8), 7), (2, (2, 2), 3)]
    reports: list[Report] = []
    for i, (ensemble, members, actual) in enumerate(cases):
        reports.append(request_report(APP, i, ensemble))
        reports += [member_report(APP, i, f"m{j}", k, modality="energy") for j, k in enumerate(members)]
        reports.append(feedback_report(APP, i, actual))
    return reports


def test_the_published_contract_ships_unchanged_with_its_license_note() -> None:
    text = data_file("rohe-bts.yaml").read_text(encoding="utf-8")
    assert "Apache License, Version 2.0" in text
    published = CONTRACTS / "bts.yaml"
    if published.is_file():
        assert text.split("added.\n", 1)[1] == published.read_text(encoding="utf-8")
    assert "rohe-bts.yaml" in CONTRACT_FILES


def test_forecast_mae_and_prediction_variance_on_a_hand_made_window() -> None:
    import rohe.examples.bts  # noqa: F401  (registers the bts vocabulary)

    contract = load_contract(data_file("rohe-bts.yaml"))
    values = agent_custom(contract, window())
    expected_mae = (abs(centre(4) - centre(4)) + abs(centre(6) - centre(7)) + abs(centre(2) - centre(3))) / 3
    assert values["forecast_mae"] == pytest.approx(expected_mae)
    assert values["forecast_mae.count"] == 3

    def variance(*bins: int) -> float:
        xs = [centre(k) for k in bins]
        mean = sum(xs) / len(xs)
        return sum((x - mean) ** 2 for x in xs) / len(xs)

    assert values["prediction_variance"] == pytest.approx((variance(4, 5) + variance(6, 8) + variance(2, 2)) / 3)


def test_another_applications_rows_are_left_alone() -> None:
    import rohe.examples.bts  # noqa: F401

    contract = load_contract(data_file("rohe-bts.yaml"))
    renamed = [r.model_copy(update={"app": "not-bts"}) for r in window()]
    assert "forecast_mae" not in agent_custom(contract, renamed)
