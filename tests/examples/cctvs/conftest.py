"""The cctvs window classifiers trained once per session on a few generated scenes."""

from __future__ import annotations

import pytest
from cctvs_fixtures import TEST_SCENES, TRAIN_SCENES, TrainedCctvs

from rohe.examples.cctvs.models import ensure_models
from rohe.examples.cctvs.scenes import load_dataset


@pytest.fixture(scope="session")
def cctvs(tmp_path_factory: pytest.TempPathFactory) -> TrainedCctvs:
    data_dir = tmp_path_factory.mktemp("cctvs-data")
    dataset = load_dataset(TRAIN_SCENES, TEST_SCENES)
    return TrainedCctvs(data_dir, dataset, ensure_models(data_dir, dataset))
