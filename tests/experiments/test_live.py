"""The live backend: a spec's arms sent open-loop to a real gateway process, paired query by query with the
simulated twin of the same spec; the CLI path; and refusals that name the field."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from rohe.cli.experiment import app
from rohe.experiments.live import DETAILS_DIR, LiveTarget
from rohe.experiments.report import ROWS_CSV, SUMMARY_JSON
from rohe.experiments.rows import read_rows
from rohe.experiments.runner import run_experiment
from rohe.experiments.spec import load_spec

from .live_gateway import CONSUMER, MODELS, LiveGateway, free_url, live_gateway

ARMS = ["single-best", "all-models"]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveGateway]:
    with live_gateway(tmp_path_factory.mktemp("live-gateway")) as served:
        yield served


def write_spec(gateway: LiveGateway, folder: Path, **changes: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    spec = {
        "name": "live-small",
        "backend": "live",
        "seed": 3,
        "catalog": str(gateway.folder / "profiles.csv"),
        "contracts": {CONSUMER: str(gateway.folder / "cam.yaml")},
        "workloads": [{"name": "w", "kind": "poisson", "rate": 8, "duration_s": 3}],
        "arms": {"scheduler": ARMS},
        "live": {"gateway_url": gateway.url},
        **changes,
    }
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def details(out: Path, arm: str) -> list[dict[str, str]]:
    with (out / DETAILS_DIR / f"{arm}-r0.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_live_arms_are_real_answers_paired_with_their_simulated_twin(gateway: LiveGateway, tmp_path: Path) -> None:
    spec, base = load_spec(write_spec(gateway, tmp_path))
    out = tmp_path / "live"
    result = run_experiment(spec, base, out, target=LiveTarget(gateway.url, gateway.samples))
    assert result.ran == ARMS
    rows = read_rows(out / ROWS_CSV)
    sent = {arm: details(out, arm) for arm in ARMS}
    for arm in ARMS:
        mine = [r for r in rows if r.arm == arm]
        assert len(mine) == len(sent[arm]) > 10  # one row per query sent, none dropped
        assert {d["status"] for d in sent[arm]} <= {"ok", "partial"}
        assert {d["http_status"] for d in sent[arm]} == {"200"} and all(float(d["fanout_ms"]) > 0 for d in sent[arm])
        assert all(r.answered and 0 <= r.predicted_class <= 9 for r in mine)
        # open loop: each query left at its arrival time, not after the previous answer
        assert max(float(d["sent_s"]) - float(d["arrival_s"]) for d in sent[arm]) < 0.5
    members = {arm: {r.members for r in rows if r.arm == arm} for arm in ARMS}
    assert members == {"single-best": {1}, "all-models": {len(MODELS)}}
    assert sum(r.correct is True for r in rows) > 0.6 * len(rows)  # real digit models, not a constant answer
    assert {t.arm_b for t in result.tests} == {"all-models"}
    assert [t.pairs for t in result.tests if t.metric == "late"] == [len(sent["all-models"])]
    body = json.loads((out / SUMMARY_JSON).read_text())
    assert body["backend"] == "live" and [a["arm"] for a in body["arms"]] == ARMS

    # Resumable like the other backends: same spec hash, nothing is sent again.
    again = run_experiment(spec, base, out, target=LiveTarget(gateway.url, gateway.samples))
    assert again.ran == [] and again.skipped == ARMS

    # The simulated twin of the same spec sees the same queries: same ids, arrival times and true classes.
    twin, _ = load_spec(write_spec(gateway, tmp_path), ["backend=simulate"])
    run_experiment(twin, base, tmp_path / "sim", workers=1)
    simulated = read_rows(tmp_path / "sim" / ROWS_CSV)
    key = [(r.arm, r.query_id, r.arrival_s, r.true_class) for r in rows]
    assert key == [(r.arm, r.query_id, r.arrival_s, r.true_class) for r in simulated]


def test_the_cli_runs_a_live_spec_against_a_gateway_url(gateway: LiveGateway, tmp_path: Path) -> None:
    path = write_spec(gateway, tmp_path, live={}, backend="simulate",
                      workloads=[{"name": "w", "kind": "steady", "rate": 5, "duration_s": 2}])  # fmt: skip
    out = tmp_path / "out"
    arguments = ["run", str(path), "--backend", "live", "--gateway", gateway.url, "--out", str(out)]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    assert "single-best" in result.output and "all-models" in result.output and "paired" in result.output
    rows = read_rows(out / ROWS_CSV)
    assert len(rows) == sum(len(details(out, arm)) for arm in ARMS) and all(r.answered for r in rows)


def test_bad_live_input_is_a_clear_error(gateway: LiveGateway, tmp_path: Path) -> None:
    runner = CliRunner()

    def run(folder: str, *extra: str, **changes: object) -> tuple[int, str]:
        path = write_spec(gateway, tmp_path / folder, **changes)
        result = runner.invoke(app, ["run", str(path), "--out", str(tmp_path / folder / "out"), *extra])
        assert "Traceback" not in result.output
        return result.exit_code, result.output

    code, output = run("no-url", live={})
    assert code == 2 and "live.gateway_url" in output and "--gateway" in output
    code, output = run("not-a-url", live={"gateway_url": "localhost:5020"})
    assert code == 2 and "gateway_url" in output and "http" in output
    code, output = run("not-live", "--gateway", gateway.url, backend="simulate")
    assert code == 2 and "--backend live" in output
    code, output = run("dead", live={"gateway_url": free_url()})
    assert code == 2 and "cannot be reached" in output and "live.gateway_url" in output
    code, output = run("placements", arms={"scheduler": ARMS, "placement": ["rohe-scoring", "least-allocated"]})
    assert code == 2 and "arms.placement" in output
    code, output = run("size", arms={"scheduler": ARMS, "ensemble": [{"min": 2, "max": 2}]})
    assert code == 2 and "arms.ensemble[0]" in output
    door = yaml.safe_load((gateway.folder / "cam.yaml").read_text())
    (tmp_path / "door.yaml").write_text(yaml.safe_dump({**door, "consumer": "door"}))
    code, output = run("consumer", contracts={"door": str(tmp_path / "door.yaml")})
    assert code == 2 and "contracts.door" in output and "'door' is not served" in output
    code, output = run("not-a-gateway", live={"gateway_url": f"{gateway.url}/docs"})
    assert code == 2 and "not a rohe serving gateway" in output
    code, output = run("token", live={"gateway_url": gateway.url, "token_env": "ROHE_TEST_NO_SUCH_TOKEN"})
    assert code == 2 and "live.token_env" in output
    assert not (tmp_path / "dead" / "out" / "arms").exists()


def test_the_cli_starts_an_example_app_for_the_run_and_stops_it(tmp_path: Path) -> None:
    """`--app`: the example's model services as processes and its gateway, for ~20 s; nothing left after."""
    import psutil

    before = {p.pid for p in psutil.Process().children(recursive=True)}
    out = tmp_path / "out"
    arguments = [
        "run", "package:experiments/specs/object-classification-live.yaml", "--backend", "live",
        "--app", "object-classification", "--out", str(out), "--data-dir", str(tmp_path / "data"),
        "--set", "workloads=[{name: w, kind: steady, rate: 5, duration_s: 1.5}]",
        "--set", "arms.scheduler=[single-best, all-models]", "--set", "baseline=single-best",
        "--set", "contracts={accuracy-first: package:examples/object_classification/data/accuracy-first.yaml}",
    ]  # fmt: skip
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    rows = read_rows(out / ROWS_CSV)
    assert len(rows) == sum(len(details(out, arm)) for arm in ARMS) > 0
    assert max(r.members for r in rows if r.arm == "all-models") == 5  # the app's five models answered
    assert (out / "stack" / "profiles.csv").is_file()  # measured by the started app
    left = {p.pid for p in psutil.Process().children(recursive=True)} - before
    assert not left, f"model services still running: {left}"
