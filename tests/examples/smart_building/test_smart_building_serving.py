"""The smart-building pipeline end to end: both modalities through the gateway with late fusion, ROHE's
contract judged by an observation agent on the gateway's reports, and the consumers' different members."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from smart_building_fixtures import MODALITIES, TrainedSmartBuilding

from example_apps_helpers import SLACK_MS, chosen_members, gateway_client, measured, member_servers
from rohe.core.config import Settings
from rohe.core.profiles import ProfileCatalog
from rohe.examples.smart_building import CONTRACT_FILES, PIPELINE_FILE, data_file, split_sample
from rohe.observation.embedded import finish, observed_run
from rohe.platform import Platform
from rohe.serving.model_service import Predictor
from rohe.serving.pipeline import load_pipeline


def served(smart_building: TrainedSmartBuilding) -> dict[str, Predictor]:
    """The members the shipped pipeline serves (with the aeon extra, MINI_ROCKET_AEON is trained but not in it)."""
    models = set(load_pipeline(data_file(PIPELINE_FILE)).models)
    return {name: p for name, p in smart_building.first.predictors().items() if name in models}


@pytest.fixture(scope="module")
def catalog(smart_building: TrainedSmartBuilding) -> ProfileCatalog:
    series, video = (measured(smart_building.workload(m)) for m in MODALITIES)
    return series.merged(video)


def test_the_two_consumers_get_different_members(catalog: ProfileCatalog) -> None:
    safety = chosen_members(data_file("safety-monitor.yaml"), catalog)
    hvac = chosen_members(data_file("hvac-control.yaml"), catalog)
    assert safety["rohe-ensemble"] != hvac["rohe-ensemble"] and len(hvac["rohe-ensemble"]) == 1
    assert safety["adaptive"] != hvac["adaptive"]


def test_both_modalities_fused_through_the_gateway_and_the_contract_observed(
    smart_building: TrainedSmartBuilding, catalog: ProfileCatalog, tmp_path: Path
) -> None:
    test = smart_building.dataset.test
    flat = np.column_stack([smart_building.raw(m) for m in MODALITIES])
    stages = {m: (lambda s, st=smart_building.first.preprocessors[m]: st(s)[0].tolist()) for m in MODALITIES}
    contracts = [data_file(name) for name in CONTRACT_FILES]
    platform = Platform.open(Settings(data_dir=tmp_path))
    try:
        with observed_run(platform.observation, "smart-building", "t1", contracts, window_s=60.0) as observed, \
                member_servers(served(smart_building)) as endpoints, \
                gateway_client(data_file(PIPELINE_FILE), catalog, contracts, endpoints, stages,
                               sink=observed.probe, run=observed.run) as client:
            answers = []
            for i in range(len(test)):
                body = {"consumer": "smart-building-sla-001", "algorithm": "all-models",
                        "inputs": split_sample(flat[i].tolist()), "request_id": f"r{i}", "deadline_ms": SLACK_MS}
                reply = client.post("/infer", json=body)
                assert reply.status_code == 200, reply.text
                answers.append(reply.json())
                client.post("/feedback", json={"request_id": f"r{i}", "true_class": int(test.labels[i])})
            finish(platform.observation, observed)
            windows = platform.observation.store.list_windows("smart-building", "t1")
    finally:
        platform.close()
    assert all(set(a["modalities"]) == set(MODALITIES) for a in answers)
    accuracy = np.mean([a["predicted_class"] == int(y) for a, y in zip(answers, test.labels, strict=True)])
    assert accuracy > 0.85
    custom: dict[str, float] = {}
    for window in windows:
        custom.update({k: v for k, v in window.custom.items() if v is not None})
    assert 0.5 < custom["timeseries_accuracy"] <= 1.0
    assert 0.4 < custom["video_accuracy"] <= 1.0
    assert custom["cross_modal_agreement.denominator"] >= len(test) * 0.9
