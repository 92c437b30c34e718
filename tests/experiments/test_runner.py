"""`rohe experiment run`: parallel arms, identical queries across arms, resumable per arm, outputs from rows,
and `compare` reading stored rows only."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from rohe.cli.experiment import app
from rohe.experiments.report import PAIRED_CSV, ROWS_CSV, SUMMARY_CSV, SUMMARY_JSON, SUMMARY_MD
from rohe.experiments.rows import read_rows
from rohe.experiments.runner import ARMS_DIR, SPEC_FILE, VERSION_FILE, run_experiment
from rohe.experiments.spec import load_spec

SMALL = {
    "name": "small",
    "backend": "simulate",
    "repetitions": 2,
    "seed": 5,
    "catalog": "package:experiments/data/object-classification-profiles.csv",
    "contracts": {"accuracy-first": "package:examples/object_classification/data/accuracy-first.yaml"},
    "workloads": [{"name": "w", "kind": "poisson", "rate": 5, "duration_s": 8}],
    "arms": {"scheduler": ["adaptive", "single-best", "random"]},
}


def write_spec(folder: Path, **changes: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump({**SMALL, **changes}))
    return path


def test_run_writes_everything_and_resumes(tmp_path: Path) -> None:
    spec, base = load_spec(write_spec(tmp_path))
    out = tmp_path / "out"
    first = run_experiment(spec, base, out, workers=2)
    assert first.ran == ["adaptive", "single-best", "random"] and first.skipped == []
    for name in (ROWS_CSV, SUMMARY_CSV, SUMMARY_JSON, PAIRED_CSV, SUMMARY_MD, SPEC_FILE, VERSION_FILE, "arms.png"):
        assert (out / name).is_file(), name
    rows = read_rows(out / ROWS_CSV)
    keys = {arm: [(r.repetition, r.query_id, r.arrival_s, r.true_class) for r in rows if r.arm == arm]
            for arm in first.ran}  # fmt: skip
    assert keys["adaptive"] == keys["single-best"] == keys["random"]  # common random numbers: paired queries
    assert {k[0] for k in keys["adaptive"]} == {0, 1}
    body = json.loads((out / SUMMARY_JSON).read_text())
    assert [a["arm"] for a in body["arms"]] == first.ran
    assert body["version"]["rohe"]

    stamps = {p.name: p.stat().st_mtime_ns for p in (out / ARMS_DIR).iterdir()}
    again = run_experiment(spec, base, out, workers=2)
    assert again.ran == [] and again.skipped == first.ran
    assert {p.name: p.stat().st_mtime_ns for p in (out / ARMS_DIR).iterdir()} == stamps
    assert read_rows(out / ROWS_CSV) == rows  # rebuilt from the stored rows, same numbers

    (out / ARMS_DIR / "random.json").unlink()  # as if the run had stopped before this arm finished
    resumed = run_experiment(spec, base, out, workers=1)
    assert resumed.ran == ["random"]

    changed, _ = load_spec(write_spec(tmp_path), ["seed=6"])
    assert run_experiment(changed, base, out, workers=1).ran == first.ran  # another spec hash: all rerun


def test_compare_reads_rows_only(tmp_path: Path) -> None:
    spec, base = load_spec(write_spec(tmp_path))
    run_experiment(spec, base, tmp_path / "a", workers=1)
    run_experiment(spec, base, tmp_path / "b", workers=1)
    (tmp_path / "b" / SPEC_FILE).unlink()  # compare never needs the spec: it reruns nothing
    result = CliRunner().invoke(
        app, ["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "c")]
    )
    assert result.exit_code == 0, result.output
    body = json.loads((tmp_path / "c" / "compare.json").read_text())
    assert {t["arm_b"] for t in body["paired"]} == {"b:adaptive", "b:single-best", "b:random"}
    assert all(t["difference"] == 0 for t in body["paired"] if t["pairs"])  # same spec and seed: same rows

    missing = CliRunner().invoke(app, ["compare", str(tmp_path / "a"), str(tmp_path / "nothing")])
    assert missing.exit_code == 2 and "rows.csv" in missing.output


def test_bad_specs_name_the_field(tmp_path: Path) -> None:
    runner = CliRunner()
    no_catalog = write_spec(tmp_path / "1", catalog=None)
    result = runner.invoke(app, ["run", str(no_catalog), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "catalog" in result.output and "Traceback" not in result.output
    bad_scheduler = write_spec(tmp_path / "2", arms={"scheduler": ["adaptive", "nope"]})
    result = runner.invoke(app, ["run", str(bad_scheduler), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "arms.scheduler[1]" in result.output
    typo = write_spec(tmp_path / "3", repetitons=3)
    result = runner.invoke(app, ["run", str(typo), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "repetitons" in result.output
    replay_without_traces = write_spec(tmp_path / "4", backend="replay")
    result = runner.invoke(app, ["run", str(replay_without_traces), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "traces.path" in result.output


def test_arms_on_different_workloads_are_not_paired(tmp_path: Path) -> None:
    workloads = [{"name": "slow", "rate": 2, "duration_s": 5}, {"name": "busy", "rate": 6, "duration_s": 5}]
    spec, base = load_spec(
        write_spec(tmp_path, repetitions=1, workloads=workloads, arms={"scheduler": ["adaptive", "random"]})
    )
    result = run_experiment(spec, base, tmp_path / "out", workers=1)
    assert result.ran == ["slow/adaptive", "slow/random", "busy/adaptive", "busy/random"]
    assert {t.arm_b for t in result.tests} == {"slow/random"}  # the baseline (first arm) meets its own workload only
