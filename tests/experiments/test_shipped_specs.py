"""The shipped specs load, expand and run; the IoT-journal one reproduces the recorded late ratios from the
published traces (reads ../shared via SHARED from tests/shared_inputs.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rohe.experiments.backends import Job, run_job
from rohe.experiments.runner import run_experiment
from rohe.experiments.spec import expand_arms, load_spec, shipped_specs
from shared_inputs import SHARED, require

LATE_RATIO = SHARED / "datasets" / "IoT_journal" / "smart_building" / "setup1" / "compare_late_ratio"


def test_five_specs_ship() -> None:
    assert [p.stem for p in shipped_specs()] == [
        "algorithms", "ensemble-sizes", "iot-late-ratio", "object-classification-live", "scaling"
    ]  # fmt: skip


@pytest.mark.parametrize("name", ["algorithms", "ensemble-sizes", "scaling", "object-classification-live"])
def test_simulate_specs_run_an_arm(name: str) -> None:
    spec, base = load_spec(Path(f"package:experiments/specs/{name}.yaml"))
    arms = expand_arms(spec)
    assert spec.baseline in [a.name for a in arms]
    rows = run_job(Job(spec, base, arms[-1], 0))
    assert rows and all(r.arm == arms[-1].name for r in rows)


def test_ensemble_sizes_are_the_policy(tmp_path: Path) -> None:
    spec, base = load_spec(Path("package:experiments/specs/ensemble-sizes.yaml"))
    for arm in expand_arms(spec):
        if arm.scheduler == "dream":
            size = arm.ensemble.max
            rows = run_job(Job(spec, base, arm, 0))
            assert {r.members for r in rows if r.answered} == {size}, arm.name


def test_iot_spec_reproduces_the_recorded_late_ratios(tmp_path: Path) -> None:
    overrides = [f"traces.path={require(LATE_RATIO)}", "repetitions=1", "arms.scheduler=[adaptive]"]
    spec, base = load_spec(Path("package:experiments/specs/iot-late-ratio.yaml"), overrides)
    result = run_experiment(spec, base, tmp_path, workers=1)
    late = {s.arm: s.late_ratio for s in result.summaries}
    assert (late["recorded:daisy"], late["recorded:oracle"], late["recorded:rohe"]) == (0.275, 0.079, 0.088)
    assert "adaptive" in late
    body = json.loads((tmp_path / "summary.json").read_text())
    assert any(t["arm_a"] == "recorded:rohe" and t["arm_b"] == "adaptive" for t in body["paired"])
