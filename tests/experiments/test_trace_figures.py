"""Recomputed figures of the published IoT-journal runs equal what a person computes from the CSVs by hand.

Reads ../shared (SHARED from tests/shared_inputs.py). The literal numbers below were computed first with a
separate, csv-module-only script (no rohe, no NumPy): counts of time_violation == 'True', served answer =
the key with the highest value in the `data` dict, members = len(inf_id), percentiles by linear interpolation
between the two nearest ranks of the sorted response times (x 1000 for ms).
"""

from __future__ import annotations

import pytest

from rohe.experiments.figures import run_figures
from rohe.experiments.traces import discover_runs, read_traces
from shared_inputs import SHARED, require

LATE_RATIO = SHARED / "datasets" / "IoT_journal" / "smart_building" / "setup1" / "compare_late_ratio"

# arm: queries, late, labelled, correct, numeric feedback, members summed, latency groups,
#      (model, device, source, count, p50, p95, p99) of the largest group
BY_HAND = {
    "daisy": (
        1000,
        275,
        109,
        0,
        52,
        9183,
        391,
        (
            "minirocket_v4",
            "jetson_super_nano",
            "orientation",
            8,
            9.05953972633705,
            11.00067930801236,
            11.531947293772312,
        ),
    ),
    "oracle": (
        1000,
        79,
        97,
        0,
        28,
        9081,
        400,
        ("minirocket_v12", "jetson_nano", "acc_phone", 8, 7.2655408232567495, 8.39959631345782, 8.457754226490845),
    ),
    "rohe": (
        1000,
        88,
        106,
        0,
        48,
        8820,
        399,
        (
            "minirocket_v2",
            "precision_5820_tower",
            "orientation",
            10,
            7.486999880179001,
            8.474911621224951,
            8.532959015144272,
        ),
    ),
}


@pytest.fixture(scope="module")
def figures() -> dict[str, object]:
    return {run.name: run_figures(run) for run in read_traces(require(LATE_RATIO))}


def test_arms_are_named_by_their_folders() -> None:
    assert [name for name, _ in discover_runs(LATE_RATIO)] == ["daisy", "oracle", "rohe"]


@pytest.mark.parametrize("arm", sorted(BY_HAND))
def test_figures_equal_the_hand_computation(figures: dict[str, object], arm: str) -> None:
    queries, late, labelled, correct, numeric, members, groups, top = BY_HAND[arm]
    f = figures[arm]
    assert (f.queries, f.late, f.labelled, f.correct, f.numeric_feedback) == (queries, late, labelled, correct, numeric)
    assert f.late_ratio == late / queries
    assert f.accuracy == correct / labelled
    assert f.members_mean == pytest.approx(members / queries, rel=1e-12)
    assert len(f.latency) == groups
    first = f.latency[0]
    assert (first.model, first.device, first.source, first.count) == top[:4]
    assert (first.p50_ms, first.p95_ms, first.p99_ms) == pytest.approx(top[4:], rel=1e-12)


def test_untrustworthy_accuracy_is_reported_not_hidden(figures: dict[str, object]) -> None:
    for f in figures.values():
        assert not f.accuracy_trustworthy
        assert any("numeric ids" in w for w in f.accuracy_warnings)
        assert any("do not share one class vocabulary" in w for w in f.accuracy_warnings)


def test_sample_gaps_are_counted(figures: dict[str, object]) -> None:
    # The published runs are samples: most feedback and member rows belong to queries outside the file.
    counts = figures["rohe"].issues["counts"]
    assert counts["feedback for a query not in inference_report.csv"] == 1000 - 106
    assert counts["query whose member inferences are not in monitoring_report.csv"] > 900
