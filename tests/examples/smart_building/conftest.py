"""The smart-building members trained once per session on a small generated set (aeon is not needed)."""

from __future__ import annotations

import pytest
from smart_building_fixtures import PER_CLASS, TrainedSmartBuilding

from rohe.examples.smart_building.dataset import load_dataset
from rohe.examples.smart_building.models import ensure_models


@pytest.fixture(scope="session")
def smart_building(tmp_path_factory: pytest.TempPathFactory) -> TrainedSmartBuilding:
    data_dir = tmp_path_factory.mktemp("smart-building-data")
    dataset = load_dataset(PER_CLASS, use_aeon=False)
    return TrainedSmartBuilding(data_dir, dataset, ensure_models(data_dir, dataset))
