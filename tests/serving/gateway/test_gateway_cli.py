"""`rohe start serving-service`: a real process serving the gateway, and clear refusals."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml
from gateway_farm import Farm, catalog, closed_port_url
from typer.testing import CliRunner

from rohe.cli.main import app
from rohe.core.profiles import save_catalog
from rohe.core.storage import Store
from rohe.observation.store import ObservationStore

MODELS = ("logreg", "tree")


def write_inputs(tmp_path: Path) -> list[str]:
    pipeline = {
        "application": "cli-test",
        "stages": [{"name": "inference", "services": ["svc-logreg", "svc-tree"]}],
        "services": [{"name": f"svc-{m}", "image": "x", "ports": [9000 + i]} for i, m in enumerate(MODELS)],
        "modalities": [{"name": "image", "models": {m: f"svc-{m}" for m in MODELS}}],
    }
    contract = {
        "consumer": "cam",
        "ensemble": {"min": 1, "max": 2},
        "required_throughput": 1,
        "deadline_ms": 500,
        "objectives": [{"metric": "accuracy", "direction": "maximize", "min": 0, "max": 1}],
    }
    (tmp_path / "pipeline.yaml").write_text(yaml.safe_dump(pipeline))
    (tmp_path / "cam.yaml").write_text(yaml.safe_dump(contract))
    save_catalog(catalog(*MODELS), tmp_path / "profiles.csv")
    return [
        "start", "serving-service",
        "--pipeline", str(tmp_path / "pipeline.yaml"),
        "--contracts", str(tmp_path / "cam.yaml"),
        "--profiles", str(tmp_path / "profiles.csv"),
    ]  # fmt: skip


def test_the_service_starts_and_serves_requests(farm: Farm, tmp_path: Path) -> None:
    args = write_inputs(tmp_path)
    url = closed_port_url()
    port = url.rsplit(":", 1)[1]
    endpoints = [f"--endpoint={m}={farm.urls[m]}" for m in MODELS]
    env = {**os.environ, "ROHE_DATA_DIR": str(tmp_path)}
    env.pop("ROHE_API__TOKEN", None)
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("rohe")), *args, *endpoints,
            "--algorithm", "single-best", "--port", port, "--window", "0.5",
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        give_up = time.monotonic() + 60  # a cold start on a busy 2-core CI machine
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            assert time.monotonic() < give_up, "the gateway did not come up"
            time.sleep(0.1)
        for i in range(5):
            # A generous per-request deadline: this checks the command serves, not its latency under CI load.
            request = {"consumer": "cam", "input": farm.samples[i].tolist(), "deadline_ms": 20_000}
            body = httpx.post(f"{url}/infer", json=request, timeout=30).json()
            assert body["status"] == "ok" and body["algorithm"] == "single-best" and body["answered"] == ["logreg"]
    finally:
        process.terminate()
        process.wait(timeout=20)
    # Observed out of the box: the in-process agent stored the requests' windows in the local store on the way out.
    with Store(f"sqlite:///{tmp_path / 'rohe.db'}") as store:
        windows = ObservationStore(store).list_windows("cli-test", "default", consumer="cam")
    assert sum(w.requests for w in windows) == 5


def test_bad_endpoints_and_public_binds_are_refused_with_a_message(farm: Farm, tmp_path: Path) -> None:
    args = write_inputs(tmp_path)
    runner = CliRunner()
    result = runner.invoke(app, [*args, "--endpoint", "logreg"], env={"ROHE_API__TOKEN": None})
    assert result.exit_code == 2 and "model=URL" in result.output
    result = runner.invoke(app, [*args, "--endpoint", f"ghost={farm.urls['logreg']}"])
    assert result.exit_code == 2 and "endpoints.ghost" in result.output
    result = runner.invoke(
        app, [*args, "--endpoint", f"logreg={farm.urls['logreg']}", "--host", "0.0.0.0"], env={"ROHE_API__TOKEN": None}
    )
    assert result.exit_code == 2 and "without a token" in result.output
