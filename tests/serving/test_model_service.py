"""The model-service SDK serving a real scikit-learn model over HTTP."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from rohe.serving.model_service import create_model_app, from_callable, from_sklearn


@pytest.fixture(scope="module")
def digits_client() -> TestClient:
    data = load_digits()
    model = LogisticRegression(max_iter=500).fit(data.data[:1200], data.target[:1200])
    return TestClient(create_model_app(from_sklearn("logreg", model)))


def test_single_and_batch_predictions_carry_probabilities_class_and_confidence(digits_client: TestClient) -> None:
    data = load_digits()
    one = digits_client.post("/predict", json={"input": data.data[1500].tolist(), "request_id": "r1"}).json()
    (prediction,) = one["predictions"]
    assert one["request_id"] == "r1" and one["model"] == "logreg"
    assert abs(sum(prediction["probabilities"]) - 1) < 1e-6
    assert prediction["confidence"] == max(prediction["probabilities"])
    assert prediction["predicted_class"] == int(np.argmax(prediction["probabilities"]))

    batch = digits_client.post("/predict", json={"inputs": data.data[1200:1400].tolist()}).json()
    predicted = [p["predicted_class"] for p in batch["predictions"]]
    accuracy = float(np.mean(np.asarray(predicted) == data.target[1200:1400]))
    assert accuracy > 0.85  # a real model, measured against ground truth


def test_bad_requests_are_4xx_with_details(digits_client: TestClient) -> None:
    assert digits_client.post("/predict", json={"input": [1.0, 2.0]}).status_code == 422
    assert digits_client.post("/predict", json={}).status_code == 422
    assert digits_client.post("/predict", json={"input": [0.0] * 64, "inputs": [[0.0] * 64]}).status_code == 422
    assert digits_client.post("/predict", json={"inputs": []}).status_code == 422


def test_health_and_profile_report_observed_latency(digits_client: TestClient) -> None:
    assert digits_client.get("/health").json() == {"status": "ok", "model": "logreg"}
    digits_client.post("/predict", json={"input": [0.0] * 64})
    observed = digits_client.get("/profile").json()["observed"]
    assert observed["count"] >= 1 and observed["p50_ms"] is not None


def test_a_plain_callable_is_checked_for_its_output_shape() -> None:
    wrong = from_callable("broken", lambda batch: np.zeros((batch.shape[0], 2)), classes=[0, 1, 2])
    with pytest.raises(ValueError, match="expected"):
        wrong.predict_proba(np.zeros((3, 4)))


def test_replica_capacity_serves_one_at_a_time_and_sheds_what_waited_too_long() -> None:
    """concurrency 1, 200 ms a request, 300 ms of patience: of four simultaneous requests the first is served
    at once, the second after waiting ~200 ms, the last two would wait ~400 and ~600 ms and are refused (503)."""
    import threading
    import time

    import httpx

    from rohe.core.background_server import BackgroundServer
    from rohe.serving.model_service import ReplicaCapacity

    model = from_callable("slow", lambda x: np.tile([0.5, 0.5], (len(x), 1)), [0, 1], 2)
    capacity = ReplicaCapacity(concurrency=1, min_service_ms=200, max_wait_ms=300)
    server = BackgroundServer(create_model_app(model, capacity=capacity), log_level="critical").start()
    try:
        results: list[tuple[int, float]] = []
        lock = threading.Lock()

        def call() -> None:
            started = time.perf_counter()
            status = httpx.post(f"{server.url}/predict", json={"input": [1.0, 2.0]}, timeout=10).status_code
            with lock:
                results.append((status, time.perf_counter() - started))

        threads = [threading.Thread(target=call) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        served = sorted(t for status, t in results if status == 200)
        assert sorted(status for status, _ in results) == [200, 200, 503, 503]
        assert served[0] >= 0.2 and served[1] >= 0.4  # the slot is held the full service time, in turn
        assert httpx.get(f"{server.url}/profile").json()["observed"]["refused"] == 2
    finally:
        server.stop()
    with pytest.raises(ValueError, match="concurrency"):
        ReplicaCapacity(concurrency=0)
