"""The example's models, trained once per test session into a temporary data dir."""

from __future__ import annotations

import pytest
from object_classification_fixtures import PRICE_PER_SECOND, TrainedExample

from rohe.core.profiles import ProfileCatalog
from rohe.examples.object_classification import ensure_models
from rohe.serving.profiling import profile_models


@pytest.fixture(scope="session")
def trained_example(tmp_path_factory: pytest.TempPathFactory) -> TrainedExample:
    data_dir = tmp_path_factory.mktemp("rohe-data")
    return TrainedExample(data_dir, ensure_models(data_dir))


@pytest.fixture(scope="session")
def measured_catalog(trained_example: TrainedExample) -> ProfileCatalog:
    from rohe.examples.object_classification import object_classification_workload

    workload = object_classification_workload(trained_example.data_dir)
    return profile_models(
        workload.predictors,
        workload.inputs,
        workload.labels,
        "local",
        class_names=workload.class_names,
        repeats=30,
        warmup=3,
        rounds=1,
        price_per_second=PRICE_PER_SECOND,
    )
