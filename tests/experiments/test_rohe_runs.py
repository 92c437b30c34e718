"""rohe's own run folders (the loadgen's requests.csv and the profiles.csv beside it) can be read and replayed."""

from __future__ import annotations

import shutil
from importlib.resources import files
from pathlib import Path

from rohe.experiments.figures import run_figures
from rohe.experiments.replay import counterfactual
from rohe.experiments.traces import read_run
from rohe.serving.loadgen.results import RequestOutcome, RequestResult
from rohe.serving.report.tables_csv import write_requests_csv

PROFILES = Path(str(files("rohe").joinpath("experiments/data/object-classification-profiles.csv")))


def rohe_run(folder: Path) -> Path:
    folder.mkdir(parents=True)
    results = [
        RequestResult(
            index=i,
            phase="steady",
            consumer="accuracy-first",
            algorithm="adaptive",
            intended_s=0.1 * i,
            status=RequestOutcome.OK if i != 3 else RequestOutcome.ERROR,
            true_class=i % 10,
            sent_s=0.1 * i,
            latency_ms=None if i == 3 else 20.0 + i,
            request_id=f"r{i}",
            predicted_class=None if i == 3 else (i % 10 if i % 4 else (i + 1) % 10),
            deadline_ms=500,
            deadline_missed=i in (3, 7),
            ensemble_size=0 if i == 3 else 2,
            answered=() if i == 3 else ("mlp", "knn"),
        )
        for i in range(12)
    ]
    write_requests_csv(results, folder / "requests.csv")
    shutil.copy(PROFILES, folder / "profiles.csv")
    return folder


def test_figures_of_a_rohe_run(tmp_path: Path) -> None:
    run = read_run(rohe_run(tmp_path / "demo"))
    f = run_figures(run)
    # 12 requests; 3 and 7 missed; 11 answered, of which 0, 4 and 8 answered the wrong digit
    assert (f.queries, f.late, f.labelled, f.correct) == (12, 2, 11, 8)
    assert f.accuracy_trustworthy
    assert f.members_mean == 22 / 12


def test_a_rohe_run_replays_from_its_profiles(tmp_path: Path) -> None:
    run = read_run(rohe_run(tmp_path / "demo"))
    result = counterfactual([run], None, ["single-best"], seed=2)
    recorded = [r for r in result.rows if r.arm == "recorded:demo"]
    replayed = [r for r in result.rows if r.arm == "single-best"]
    assert [r.query_id for r in recorded] == [r.query_id for r in replayed] == [f"r{i}" for i in range(12)]
    assert [r.true_class for r in replayed] == [i % 10 for i in range(12)]
    assert recorded[1].predicted_class == 1 and recorded[3].predicted_class == -1
    assert all(r.member_models == ("rbf-svm",) for r in replayed if r.answered)  # the most accurate profile
