"""The example-app registry: every descriptor is consistent with the files it names, and the generic model
service command runs a real process that serves a model."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from rohe.core.contracts import load_contract
from rohe.core.errors import NotFound
from rohe.examples.registry import EXAMPLE_APPS, example_app
from rohe.serving.pipeline import load_pipeline


def test_the_four_apps_are_registered_under_their_demo_names() -> None:
    assert list(EXAMPLE_APPS) == ["object-classification", "bts", "cctvs", "smart-building"]
    assert example_app("smart_building") is EXAMPLE_APPS["smart-building"]
    with pytest.raises(NotFound, match="bts"):
        example_app("weather")


@pytest.mark.parametrize("name", list(EXAMPLE_APPS))
def test_each_descriptor_matches_its_pipeline_and_contracts(name: str) -> None:
    app = EXAMPLE_APPS[name]
    spec = load_pipeline(app.pipeline_file)
    assert spec.application == app.application
    models = {m: s for modality in spec.modalities for m, s in modality.models.items()}
    assert app.killed_model in models
    assert [m.name for m in spec.modalities] == [m for m, _ in app.modality_sizes]
    by_name = {s.name: s for s in spec.services}
    for model, service in models.items():
        assert list(by_name[service].command) == app.model_service_command(model), model
    consumers = {load_contract(path).consumer for path in app.contract_files}
    assert set(app.consumers) <= consumers and len(app.consumers) >= 2
    sample = [float(i) for i in range(sum(size for _, size in app.modality_sizes))]
    inputs = app.request_inputs(sample)
    assert {m: len(v) for m, v in inputs.items()} == dict(app.modality_sizes)
    assert [x for m, _ in app.modality_sizes for x in inputs[m]] == sample


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unknown_model_exits_non_zero_with_the_names_there_are(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "rohe.examples.serve", "--app", "bts", "--model", "prophet",
         "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert done.returncode != 0
    assert "seasonal-naive" in done.stderr and "Traceback" not in done.stderr


def test_the_model_service_command_serves_a_bts_forecaster_as_a_real_process(tmp_path: Path) -> None:
    port = free_port()
    command = [part.replace("{python}", sys.executable).replace("{port}", str(port)).replace("{host}", "127.0.0.1")
               for part in EXAMPLE_APPS["bts"].model_service_command("seasonal-naive")]
    process = subprocess.Popen([*command, "--data-dir", str(tmp_path)],
                               env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        give_up = time.monotonic() + 240  # the first start trains the forecasters
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None and time.monotonic() < give_up
            time.sleep(0.5)
        reply = httpx.post(f"http://127.0.0.1:{port}/predict", json={"input": [0.0] * 168}, timeout=10)
        assert reply.status_code == 200, reply.text
        assert reply.json()
    finally:
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
