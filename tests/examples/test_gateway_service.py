"""The example pipeline's gateway service: deployed by the local backend next to the model services it
finds, measures and serves; a clear non-zero exit when there is nothing to serve; and, in a Kubernetes pod,
model endpoints that are the Services the manifests create."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from object_classification_fixtures import TrainedExample

from rohe.core.domain import Allocation, Replica, ReplicaStatus
from rohe.core.storage import Store
from rohe.examples.object_classification import PIPELINE_FILE, data_file
from rohe.examples.object_classification.discovery import in_kubernetes, kubernetes_endpoints, model_services
from rohe.examples.object_classification.gateway import DeferredGateway
from rohe.examples.workload import example_samples
from rohe.observation.store import ObservationStore
from rohe.orchestration.deploy.local import LocalDeployer
from rohe.orchestration.deploy.manifests import build_manifests
from rohe.serving.pipeline import PipelineSpec, load_pipeline

GATEWAY_MODULE = "rohe.examples.object_classification.gateway"


@pytest.fixture(scope="module")
def spec() -> PipelineSpec:
    return load_pipeline(data_file(PIPELINE_FILE))


def all_on(spec: PipelineSpec, node: str) -> list[Replica]:
    return [
        Replica(service=s.name, index=i, status=ReplicaStatus.PLACED, allocation=Allocation(node=node, cpu=s.cpu))
        for s in spec.services
        for i in range(s.replicas)
    ]


def wait_ready(url: str, timeout: float) -> dict[str, object]:
    give_up = time.monotonic() + timeout
    while True:
        body: dict[str, object] = httpx.get(f"{url}/health", timeout=5).json()
        if body["status"] == "ok" or time.monotonic() > give_up:
            return body
        time.sleep(0.3)


def test_the_deployed_gateway_finds_the_models_measures_them_and_serves(
    spec: PipelineSpec, trained_example: TrainedExample, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The replicas inherit this environment: the models' cache and the deployer state under one data dir.
    monkeypatch.setenv("ROHE_DATA_DIR", str(trained_example.data_dir))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    deployer = LocalDeployer(trained_example.data_dir / "local", health_timeout=90.0)
    try:
        processes = deployer.apply(spec.services, all_on(spec, "edge-1"))
        assert {p.service: p.status for p in processes} == {s.name: "running" for s in spec.services}
        port = next(p.port for p in processes if p.service == spec.gateway)
        url = f"http://127.0.0.1:{port}"
        early = httpx.post(f"{url}/infer", json={"consumer": "accuracy-first", "input": [0.0] * 64}, timeout=10)
        assert early.status_code in (200, 503)  # 503 while it measures; 200 if it was already ready
        assert wait_ready(url, 90.0)["status"] == "ok"

        consumers = httpx.get(f"{url}/consumers", timeout=5).json()
        assert [c["consumer"] for c in consumers] == ["accuracy-first", "fast-and-cheap"]
        samples = example_samples()
        correct = 0
        with httpx.Client(base_url=url, timeout=10) as client:
            for frame, label in zip(samples.inputs[:20], samples.labels[:20], strict=True):
                reply = client.post("/infer", json={"consumer": "accuracy-first", "input": list(frame)})
                body = reply.json()
                assert reply.status_code == 200 and body["status"] in ("ok", "partial"), body
                assert set(body["answered"]) <= set(model_services(spec))
                correct += body["predicted_class"] == label
        assert correct >= 16  # raw frames standardised in the gateway, then real models: mostly right
    finally:
        deployer.stop_all()
    # Observed out of the box: stopped by the deployer (SIGTERM), the gateway drained its probe and its
    # in-process agent stored the windows in the installation's store.
    with Store(f"sqlite:///{trained_example.data_dir / 'rohe.db'}") as store:
        windows = ObservationStore(store).list_windows(spec.application, "default", consumer="accuracy-first")
    assert sum(w.requests for w in windows) == 20


def test_with_no_model_replicas_the_gateway_exits_non_zero_saying_why(tmp_path: Path) -> None:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", GATEWAY_MODULE, "--port", "0", "--state-dir", str(tmp_path), "--wait", "0.5"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"ROHE_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 1
    assert "no running replica" in done.stderr and "rohe orchestration deploy" in done.stderr
    assert time.monotonic() - started < 30


def test_in_a_pod_the_models_are_the_services_the_manifests_create(spec: PipelineSpec) -> None:
    assert in_kubernetes({"KUBERNETES_SERVICE_HOST": "10.0.0.1"}) and not in_kubernetes({})
    manifests = build_manifests(spec.services, all_on(spec, "edge-1"), "rohe")
    services = {m["metadata"]["name"]: m for m in manifests if m["kind"] == "Service"}
    assert spec.gateway is not None and spec.gateway in services  # the gateway is deployed like the rest
    endpoints = kubernetes_endpoints(spec)
    assert sorted(endpoints) == sorted(model_services(spec))
    for model, (url,) in endpoints.items():
        host, port = url.removeprefix("http://").split(":")
        assert host in services, f"{model}: no Service named {host}"
        assert int(port) in [p["port"] for p in services[host]["spec"]["ports"]]


def test_until_ready_health_says_starting_and_the_rest_is_503() -> None:
    async def scenario() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=DeferredGateway("object-classification"))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            health = await client.get("/health")
            infer = await client.post("/infer", json={"consumer": "accuracy-first", "input": [0.0] * 64})
        return health, infer

    health, infer = asyncio.run(scenario())
    assert health.status_code == 200 and health.json()["status"] == "starting"
    assert infer.status_code == 503 and infer.headers["retry-after"] == "2"
    assert infer.json()["detail"] == "finding the model endpoints"
