"""Counterfactual replay of the published rohe run under the registry's schedulers (reads ../shared via SHARED
from tests/shared_inputs.py), and of a small synthetic run through a plugin scheduler."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from experiments.tracefiles import clean_run
from rohe.experiments.calibration import EmpiricalServiceTime, calibrate
from rohe.experiments.replay import ReplayResult, counterfactual
from rohe.experiments.traces import read_run, read_traces
from shared_inputs import SHARED, require

ROHE_RUN = SHARED / "datasets" / "IoT_journal" / "smart_building" / "setup1" / "compare_late_ratio" / "rohe"


@pytest.fixture(scope="module")
def replayed() -> ReplayResult:
    runs = read_traces(require(ROHE_RUN))
    return counterfactual(runs, None, ["adaptive", "oracle"], seed=3)


def test_same_queries_under_every_arm(replayed: ReplayResult) -> None:
    by_arm: dict[str, list[str]] = {}
    for row in replayed.rows:
        by_arm.setdefault(row.arm, []).append(row.query_id)
    assert set(by_arm) == {"recorded:rohe", "adaptive", "oracle"}
    assert by_arm["adaptive"] == by_arm["oracle"] == by_arm["recorded:rohe"]
    assert len(by_arm["adaptive"]) == 1000


def test_each_query_keeps_its_recorded_budget(replayed: ReplayResult) -> None:
    recorded = {r.query_id: r for r in replayed.rows if r.arm == "recorded:rohe"}
    assert sum(r.late for r in recorded.values()) == 88  # the run's own late count
    for row in replayed.rows:
        if row.arm == "adaptive":
            assert row.deadline_s == recorded[row.query_id].deadline_s
            assert row.late == ((not row.answered) or row.latency_s > row.deadline_s)


def test_service_times_are_the_recorded_ones(replayed: ReplayResult) -> None:
    service = replayed.calibration.service_time
    assert isinstance(service, EmpiricalServiceTime)
    recorded = service.samples[("x3d_m_v4", "jetson_agx_orin")]
    draws = {service.sample("x3d_m_v4", "jetson_agx_orin", np.random.default_rng(i)) for i in range(50)}
    assert draws <= set(recorded.tolist())
    block = service.sample_many("x3d_m_v4", "jetson_agx_orin", 200, np.random.default_rng(0))
    assert set(block.tolist()) <= set(recorded.tolist()) and len(block) == 200


def test_the_registry_scheduler_runs_not_a_copy(tmp_path: Path) -> None:
    run = read_run(clean_run(tmp_path / "run"))
    result = counterfactual([run], None, ["experiments.fixed_scheduler:OnlyM2"], seed=1)
    rows = [r for r in result.rows if not r.arm.startswith("recorded:")]
    assert rows and all(r.member_models == ("m2",) for r in rows if r.answered)
    # m2 answers in 20-42 ms, always 'sitting': right on exactly the sitting queries
    assert all(r.correct == (result.calibration.class_names[r.true_class] == "sitting") for r in rows)


def test_synthetic_calibration(tmp_path: Path) -> None:
    run = read_run(clean_run(tmp_path / "run"))
    calibration = calibrate([run], run)
    profile = calibration.catalog.profile("m2", "orin")
    assert profile is not None
    expected = np.percentile([1000 * (0.020 + 0.002 * i) for i in range(12)], 50)
    assert math.isclose(profile.latency_p50_ms or 0, float(expected))
    # m1 always predicts the truth, m2 always 'sitting': accuracy 1 and 1/2
    assert calibration.catalog.profile("m1", "nano").accuracy == 1.0  # type: ignore[union-attr]
    assert profile.accuracy == 0.5


def test_cli_replay_writes_tables_and_plots(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from rohe.cli.experiment import app

    clean_run(tmp_path / "cmp" / "mine" / "run_1")
    clean_run(tmp_path / "cmp" / "theirs" / "run_2", late_every=3)
    out = tmp_path / "out"
    args = ["replay", str(tmp_path / "cmp"), "--out", str(out), "--base", "mine", "--scheduler", "single-best"]
    result = CliRunner().invoke(app, [*args, "--scheduler", "dream", "--repetitions", "2"])
    assert result.exit_code == 0, result.output
    for name in ("figures.csv", "latency.csv", "rows.csv", "summary.csv", "summary.md", "arms.png", "latency.png"):
        assert (out / name).is_file(), name
    assert "recorded:mine" in result.output and "recorded:theirs" in result.output
    # 12 queries each, late every 4th (mine: 3) and every 3rd (theirs: 4)
    assert "0.250" in result.output and "0.333" in result.output
