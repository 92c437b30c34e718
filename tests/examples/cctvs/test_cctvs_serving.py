"""The cctvs pipeline end to end through the gateway, and the consumers' different members."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cctvs_fixtures import TrainedCctvs

from example_apps_helpers import SLACK_MS, chosen_members, gateway_client, measured, member_servers
from rohe.core.config import Settings
from rohe.core.profiles import ProfileCatalog
from rohe.examples.cctvs import CONTRACT_FILES, PIPELINE_FILE, data_file
from rohe.examples.cctvs.scenes import BACKGROUND
from rohe.observation.embedded import finish, observed_run
from rohe.platform import Platform


@pytest.fixture(scope="module")
def catalog(cctvs: TrainedCctvs) -> ProfileCatalog:
    return measured(cctvs.workload())


def test_the_two_consumers_get_different_members(catalog: ProfileCatalog) -> None:
    guard = chosen_members(data_file("security-guard.yaml"), catalog)
    counter = chosen_members(data_file("people-counter.yaml"), catalog)
    assert guard["rohe-ensemble"] != counter["rohe-ensemble"] and len(counter["rohe-ensemble"]) == 1
    assert guard["adaptive"] != counter["adaptive"]


def test_windows_classified_through_the_gateway_and_the_contract_observed(
    cctvs: TrainedCctvs, catalog: ProfileCatalog, tmp_path: Path
) -> None:
    x, y = cctvs.dataset.test_patches
    picks = np.arange(0, len(y), max(1, len(y) // 30))[:30]
    contracts = [data_file(name) for name in CONTRACT_FILES]
    platform = Platform.open(Settings(data_dir=tmp_path))
    try:
        with observed_run(platform.observation, "cctvs", "t1", contracts, window_s=60.0) as observed, \
                member_servers(cctvs.first.predictors()) as endpoints, \
                gateway_client(data_file(PIPELINE_FILE), catalog, contracts, endpoints,
                               {"window": lambda s: cctvs.first.scaler(s)[0].tolist()},
                               sink=observed.probe, run=observed.run) as client:
            answers = []
            for n, i in enumerate(picks):
                body = {"consumer": "security-guard", "input": x[i].tolist(), "request_id": f"r{n}",
                        "deadline_ms": SLACK_MS}
                reply = client.post("/infer", json=body)
                assert reply.status_code == 200, reply.text
                answers.append(reply.json())
                client.post("/feedback", json={"request_id": f"r{n}", "true_class": int(y[i])})
            finish(platform.observation, observed)
            windows = platform.observation.store.list_windows("cctvs", "t1")
    finally:
        platform.close()
    custom: dict[str, float] = {}
    for window in windows:
        custom.update({k: v for k, v in window.custom.items() if v is not None})
    detections = [(a["predicted_class"], int(y[i])) for a, i in zip(answers, picks, strict=True)
                  if a["predicted_class"] != BACKGROUND]
    assert custom["misclassification_rate.denominator"] == len(detections) > 0
    assert custom["misclassification_rate"] == pytest.approx(sum(p != t for p, t in detections) / len(detections))
    assert custom["false_positive_rate"] == pytest.approx(sum(t == BACKGROUND for _, t in detections) / len(detections))
    assert all(a["answered"] and a["status"] in ("ok", "partial") for a in answers)
    assert np.mean([a["predicted_class"] == y[i] for a, i in zip(answers, picks, strict=True)]) > 0.85
