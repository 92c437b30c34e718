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
