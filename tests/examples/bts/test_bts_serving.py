"""The bts pipeline end to end: forecasters as real model services, the gateway scaling and averaging,
ROHE's contract observed; and the two consumers getting visibly different members from the schedulers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from bts_fixtures import TrainedBts

from example_apps_helpers import SLACK_MS, chosen_members, gateway_client, measured, member_servers
from rohe.core.config import Settings
from rohe.core.profiles import ProfileCatalog
from rohe.examples.bts import CONTRACT_FILES, PIPELINE_FILE, data_file
from rohe.examples.bts.series import BIN_KWH, decode
from rohe.examples.registry import example_app
from rohe.observation.embedded import finish, observed_run
from rohe.platform import Platform
from rohe.serving.pipeline import load_pipeline


@pytest.fixture(scope="module")
def catalog(bts: TrainedBts) -> ProfileCatalog:
    return measured(bts.workload())


def test_the_pipeline_spec_places_and_serves_the_same_services() -> None:
    spec = load_pipeline(data_file(PIPELINE_FILE))
    app = example_app("bts")
    assert spec.application == app.application == "bts"
    served = {m: s for modality in spec.modalities for m, s in modality.models.items()}
    assert {s.name for s in spec.services} == set(served.values())
    for service in spec.services:
        model = next(m for m, s in served.items() if s == service.name)
        assert list(service.command) == app.model_service_command(model)


def test_the_two_consumers_get_different_members(catalog: ProfileCatalog) -> None:
    grid = chosen_members(data_file("grid-operator.yaml"), catalog)
    dashboard = chosen_members(data_file("dashboard.yaml"), catalog)
    assert grid["rohe-ensemble"] != dashboard["rohe-ensemble"]
    assert grid["adaptive"] != dashboard["adaptive"]
    assert "gradient-boosting" in grid["rohe-ensemble"] and len(dashboard["rohe-ensemble"]) == 1


def test_forecasts_served_through_the_gateway_and_the_contract_observed(
    bts: TrainedBts, catalog: ProfileCatalog, tmp_path: Path
) -> None:
    contracts = [data_file(name) for name in CONTRACT_FILES]
    test = bts.dataset.test
    picks = np.arange(0, len(test), max(1, len(test) // 30))[:30]
    platform = Platform.open(Settings(data_dir=tmp_path))
    try:
        with observed_run(platform.observation, "bts", "t1", contracts, window_s=60.0) as observed, \
                member_servers(bts.first.predictors()) as endpoints, \
                gateway_client(data_file(PIPELINE_FILE), catalog, contracts, endpoints,
                               {"energy": lambda s: bts.first.scaler(s)[0].tolist()},
                               sink=observed.probe, run=observed.run) as client:
            answers = []
            for n, i in enumerate(picks):
                body = {"consumer": "bts-sla-001", "algorithm": "all-models", "input": test.windows[i].tolist(),
                        "request_id": f"r{n}", "deadline_ms": SLACK_MS}
                reply = client.post("/infer", json=body)
                assert reply.status_code == 200, reply.text
                answers.append(reply.json())
                client.post("/feedback", json={"request_id": f"r{n}", "true_class": int(test.labels[i])})
            bad = client.post("/infer", json={"consumer": "grid-operator", "input": [1.0, 2.0]})
            finish(platform.observation, observed)
            windows = platform.observation.store.list_windows("bts", "t1")
    finally:
        platform.close()
    custom: dict[str, float] = {}
    for window in windows:
        custom.update({k: v for k, v in window.custom.items() if v is not None})
    answered = np.array([a["predicted_class"] for a in answers])
    # The observed MAE is between the answered and the actual bin centres (the wire carries bins).
    assert custom["forecast_mae"] == pytest.approx(np.mean(np.abs(answered - test.labels[picks])) * BIN_KWH)
    assert 0 < custom["prediction_variance"] < 0.1
    assert bad.status_code in (400, 422) and "168" in bad.text
    assert all(sorted(a["answered"]) == sorted(bts.first.regressors) for a in answers)
    # The answered bin must be the argmax of the members' mean vector, and land near the actual reading.
    scaled = bts.first.scaler(test.windows[picks])
    mean = np.mean([p.predict_proba(scaled) for p in bts.first.predictors().values()], axis=0)
    assert [a["predicted_class"] for a in answers] == mean.argmax(axis=1).tolist()
    forecast = decode(mean)
    assert np.mean(np.abs(forecast - test.targets[picks])) < 0.25
    assert np.mean(np.abs(np.array([a["predicted_class"] for a in answers]) - test.labels[picks]) <= 1) > 0.8
