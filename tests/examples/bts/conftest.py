"""The bts forecasters trained once per session on a short series (small, so training takes seconds)."""

from __future__ import annotations

import pytest
from bts_fixtures import WEEKS, TrainedBts

from rohe.examples.bts.models import ensure_models
from rohe.examples.bts.series import load_dataset


@pytest.fixture(scope="session")
def bts(tmp_path_factory: pytest.TempPathFactory) -> TrainedBts:
    data_dir = tmp_path_factory.mktemp("bts-data")
    dataset = load_dataset(WEEKS)
    return TrainedBts(data_dir, dataset, ensure_models(data_dir, dataset))
