"""`python -m rohe.examples.object_classification.serve`: one cached model behind the model-service SDK."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import uvicorn
from fastapi.testclient import TestClient
from object_classification_fixtures import PRICE_PER_SECOND, TrainedExample

from rohe.core.profiles import ProfileCatalog, save_catalog
from rohe.examples.object_classification import load_dataset, preprocess, serve


def _served_app(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> tuple[Any, dict[str, Any]]:
    captured: dict[str, Any] = {}

    def fake_run(app: Any, **options: Any) -> None:
        captured["app"] = app
        captured.update(options)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    serve.main(argv)
    return captured.pop("app"), captured


def test_serves_the_cached_model_with_its_measured_profile(
    trained_example: TrainedExample,
    measured_catalog: ProfileCatalog,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    profiles = tmp_path / "profiles.csv"
    save_catalog(measured_catalog, profiles)
    argv = ["--model", "mlp", "--port", "8311", "--data-dir", str(trained_example.data_dir)]
    app, options = _served_app(monkeypatch, [*argv, "--profiles", str(profiles)])
    assert options["port"] == 8311 and options["host"] == "127.0.0.1"
    client = TestClient(app)
    test = load_dataset().test
    scaled = preprocess(trained_example.first.preprocessor, test.features[:20])
    answer = client.post("/predict", json={"inputs": scaled.tolist()}).json()
    predicted = [p["predicted_class"] for p in answer["predictions"]]
    expected = trained_example.first.estimators["mlp"].predict(scaled)
    np.testing.assert_array_equal(predicted, expected)
    profile = client.get("/profile").json()["profile"]
    assert profile["model"] == "mlp" and profile["cost_base"] == PRICE_PER_SECOND


def test_unknown_model_is_refused_by_the_argument_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SystemExit):
        _served_app(monkeypatch, ["--model", "resnet"])


def test_bad_replica_capacity_flags_are_refused_naming_the_flags(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        serve.main(["--model", "mlp", "--concurrency", "0"])
    assert exited.value.code == 2
    assert "--concurrency" in capsys.readouterr().err
