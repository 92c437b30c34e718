"""The cctvs pipeline end to end through the gateway, and the consumers' different members."""

from __future__ import annotations

import numpy as np
import pytest
from cctvs_fixtures import TrainedCctvs

from example_apps_helpers import chosen_members, gateway_client, measured, member_servers
from rohe.core.profiles import ProfileCatalog
from rohe.examples.cctvs import CONTRACT_FILES, PIPELINE_FILE, data_file


@pytest.fixture(scope="module")
def catalog(cctvs: TrainedCctvs) -> ProfileCatalog:
    return measured(cctvs.workload())


def test_the_two_consumers_get_different_members(catalog: ProfileCatalog) -> None:
    guard = chosen_members(data_file("security-guard.yaml"), catalog)
    counter = chosen_members(data_file("people-counter.yaml"), catalog)
    assert guard["rohe-ensemble"] != counter["rohe-ensemble"] and len(counter["rohe-ensemble"]) == 1
    assert guard["adaptive"] != counter["adaptive"]


def test_windows_classified_through_the_gateway(cctvs: TrainedCctvs, catalog: ProfileCatalog) -> None:
    x, y = cctvs.dataset.test_patches
    picks = np.arange(0, len(y), max(1, len(y) // 30))[:30]
    contracts = [data_file(name) for name in CONTRACT_FILES]
    with member_servers(cctvs.first.predictors()) as endpoints, gateway_client(
        data_file(PIPELINE_FILE), catalog, contracts, endpoints, {"window": lambda s: cctvs.first.scaler(s)[0].tolist()}
    ) as client:
        answers = []
        for i in picks:
            reply = client.post("/infer", json={"consumer": "security-guard", "input": x[i].tolist()})
            assert reply.status_code == 200, reply.text
            answers.append(reply.json())
    assert all(a["answered"] and a["status"] in ("ok", "partial") for a in answers)
    assert np.mean([a["predicted_class"] == y[i] for a, i in zip(answers, picks, strict=True)]) > 0.85
