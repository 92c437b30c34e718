"""ONNX models behind the model-service SDK: the same probabilities as the scikit-learn model they were
exported from, with or without ZipMap, over HTTP; clear errors for what cannot be served."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from skl2onnx import to_onnx
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from rohe.core.errors import InvalidInput
from rohe.serving.model_service import create_model_app, from_onnx


@pytest.fixture(scope="module")
def digits_model() -> tuple[LogisticRegression, np.ndarray]:
    data = load_digits()
    model = LogisticRegression(max_iter=500).fit(data.data[:1200], data.target[:1200])
    return model, np.asarray(data.data[1200:1260], dtype=np.float64)


@pytest.mark.parametrize("zipmap", [True, False])
def test_onnx_export_predicts_like_the_original(digits_model: tuple[LogisticRegression, np.ndarray],
                                                zipmap: bool, tmp_path: Path) -> None:
    model, samples = digits_model
    exported = to_onnx(model, samples[:1].astype(np.float32), options={id(model): {"zipmap": zipmap}})
    path = tmp_path / "logreg.onnx"
    path.write_bytes(exported.SerializeToString())
    predictor = from_onnx("logreg", path)
    assert list(predictor.classes) == list(range(10)) and predictor.n_features == 64
    np.testing.assert_allclose(predictor.predict_proba(samples), model.predict_proba(samples), atol=1e-4)

    with TestClient(create_model_app(predictor)) as client:
        reply = client.post("/predict", json={"inputs": samples[:3].tolist()})
    assert reply.status_code == 200, reply.text
    predicted = [p["predicted_class"] for p in reply.json()["predictions"]]
    assert predicted == model.predict(samples[:3]).tolist()


def test_logits_become_probabilities_with_softmax(digits_model: tuple[LogisticRegression, np.ndarray]) -> None:
    model, samples = digits_model
    exported = to_onnx(model, samples[:1].astype(np.float32), options={id(model): {"zipmap": False}})
    predictor = from_onnx("logreg", exported.SerializeToString(), classes=range(10), softmax=True)
    rows = predictor.predict_proba(samples)
    np.testing.assert_allclose(rows.sum(axis=1), 1.0, atol=1e-6)  # probabilities in, still probabilities out
    assert (rows.argmax(axis=1) == model.predict(samples)).all()


def test_missing_or_broken_models_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no such ONNX file"):
        from_onnx("m", tmp_path / "absent.onnx")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    with pytest.raises(InvalidInput, match="not a loadable ONNX model") as caught:
        from_onnx("m", broken)
    assert caught.value.problems[0].location == "model"
