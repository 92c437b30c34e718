"""A real serving gateway for the live-backend tests: `rohe start serving-service` as its own process, over
three scikit-learn digit models served on loopback (uvicorn threads of the test process), with the profiles
and the contract it serves written where a spec can name them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import yaml
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.tree import DecisionTreeClassifier

from rohe.core.background_server import BackgroundServer
from rohe.core.profiles import ModelProfile, ProfileCatalog, save_catalog
from rohe.serving.loadgen.samples import LabelledSamples
from rohe.serving.model_service import create_model_app, from_sklearn

MODELS = ("logreg", "tree", "bayes")
CONSUMER = "cam"
DEADLINE_MS = 800.0  # generous: two shared cores, a gateway process and the load generator in the test's


@dataclass(frozen=True)
class LiveGateway:
    url: str
    folder: Path  # pipeline.yaml, cam.yaml (the contract), profiles.csv
    samples: LabelledSamples


def free_url() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def _profile(model: str, p50: float, p99: float, accuracy: float) -> ModelProfile:
    return ModelProfile(
        model=model,
        node_type="local",
        latency_p50_ms=p50,
        latency_p99_ms=p99,
        throughput_rps=100.0,
        accuracy=accuracy,
        cost_per_request=0.001,
        class_accuracy=dict.fromkeys(range(10), accuracy),
    )


def _write_inputs(folder: Path) -> None:
    pipeline = {
        "application": "live-test",
        "stages": [{"name": "inference", "services": [f"svc-{m}" for m in MODELS]}],
        "services": [{"name": f"svc-{m}", "image": "x", "ports": [9000 + i]} for i, m in enumerate(MODELS)],
        "modalities": [{"name": "image", "models": {m: f"svc-{m}" for m in MODELS}}],
    }
    contract = {
        "consumer": CONSUMER,
        "ensemble": {"min": 1, "max": 3},
        "required_throughput": 1,
        "deadline_ms": DEADLINE_MS,
        "objectives": [{"metric": "accuracy", "direction": "maximize", "min": 0, "max": 1}],
    }
    (folder / "pipeline.yaml").write_text(yaml.safe_dump(pipeline))
    (folder / "cam.yaml").write_text(yaml.safe_dump(contract))
    profiles = [_profile("logreg", 3, 20, 0.95), _profile("tree", 2, 10, 0.85), _profile("bayes", 2, 15, 0.80)]
    save_catalog(ProfileCatalog.of(profiles), folder / "profiles.csv")


def _wait_healthy(process: subprocess.Popen[bytes], url: str) -> None:
    give_up = time.monotonic() + 45
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            raise RuntimeError(process.stderr.read().decode() if process.stderr else "the gateway exited")
        if time.monotonic() > give_up:
            raise RuntimeError("the gateway did not come up in 45 s")
        time.sleep(0.1)


@contextmanager
def live_gateway(folder: Path) -> Iterator[LiveGateway]:
    digits = load_digits()
    x, y = digits.data[:1000], digits.target[:1000]
    fitted = {
        "logreg": LogisticRegression(max_iter=300).fit(x, y),
        "tree": DecisionTreeClassifier(max_depth=8, random_state=0).fit(x, y),
        "bayes": GaussianNB().fit(x, y),
    }
    _write_inputs(folder)
    with ExitStack() as stack:
        endpoints = []
        for name, model in fitted.items():
            server = BackgroundServer(create_model_app(from_sklearn(name, model)), log_level="critical").start()
            stack.callback(server.stop)
            endpoints.append(f"--endpoint={name}={server.url}")
        url = free_url()
        env = {**os.environ, "ROHE_DATA_DIR": str(folder)}
        env.pop("ROHE_API__TOKEN", None)
        process = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("rohe")), "start", "serving-service",
                "--pipeline", str(folder / "pipeline.yaml"), "--contracts", str(folder / "cam.yaml"),
                "--profiles", str(folder / "profiles.csv"), *endpoints,
                "--port", url.rsplit(":", 1)[1], "--window", "1",
            ],
            env=env, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip

        def stop() -> None:
            process.terminate()
            process.wait(timeout=20)

        stack.callback(stop)
        _wait_healthy(process, url)
        held_out = LabelledSamples.of(np.asarray(digits.data[1000:]), np.asarray(digits.target[1000:]))
        yield LiveGateway(url, folder, held_out)
