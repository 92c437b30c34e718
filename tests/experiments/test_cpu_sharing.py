"""The spec's `cluster.cpu_sharing` and `cluster.background_cores` reach the simulator through
`rohe experiment run`: a node crowded by background work slows every member; bad values are named errors."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from rohe.cli.experiment import app
from rohe.experiments.report import SUMMARY_JSON

SPEC = {
    "name": "cores",
    "backend": "simulate",
    "seed": 3,
    "catalog": "package:experiments/data/object-classification-profiles.csv",
    "contracts": {"accuracy-first": "package:examples/object_classification/data/accuracy-first.yaml"},
    "workloads": [{"name": "w", "kind": "poisson", "rate": 4, "duration_s": 10}],
    "arms": {"scheduler": ["adaptive"]},
    # One 8-core node whose replicas may each serve 4 calls: more than its cores, so they share them.
    "cluster": {"nodes": 1, "cores": 8, "concurrency": 4},
}


def p50(folder: Path, *overrides: str) -> float:
    spec = folder / "spec.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    spec.write_text(yaml.safe_dump(SPEC))
    args = ["run", str(spec), "--out", str(folder / "out"), "--workers", "1"]
    for item in overrides:
        args += ["--set", item]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    (arm,) = json.loads((folder / "out" / SUMMARY_JSON).read_text())["arms"]
    return float(arm["latency_p50_s"])


def test_background_cores_slow_members_only_with_cpu_sharing(tmp_path: Path) -> None:
    alone = p50(tmp_path / "alone")  # sharing is on by default; 8 free cores: calls rarely wait for the CPU
    crowded = p50(tmp_path / "crowded", "cluster.background_cores=7.75")  # a quarter core left for the models
    independent = p50(tmp_path / "independent", "cluster.background_cores=7.75", "cluster.cpu_sharing=false")
    assert crowded > 3 * alone
    assert independent == alone  # without sharing the background cores change nothing


def test_background_cores_must_leave_a_core_fraction(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(SPEC))
    result = CliRunner().invoke(app, ["run", str(spec), "--set", "cluster.background_cores=8"])
    assert result.exit_code != 0
    assert "cluster" in result.output and "background_cores" in result.output
    assert "Traceback" not in result.output
