"""Naming an example for `rohe profile`."""

from __future__ import annotations

import numpy as np
import pytest
from object_classification_fixtures import TrainedExample

from rohe.core.errors import NotFound
from rohe.examples.object_classification import MODEL_NAMES
from rohe.examples.workload import load_workload


def test_unknown_example_lists_the_known_ones(tmp_path_factory: pytest.TempPathFactory) -> None:
    with pytest.raises(NotFound) as caught:
        load_workload("traffic", tmp_path_factory.mktemp("unused"))
    (problem,) = caught.value.problems
    assert problem.location == "example" and "object_classification" in problem.hint


@pytest.mark.parametrize("name", ["object_classification", "object-classification"])
def test_workload_is_the_preprocessed_test_split_and_the_cached_models(
    name: str, trained_example: TrainedExample
) -> None:
    workload = load_workload(name, trained_example.data_dir)
    assert not workload.trained
    assert list(workload.predictors) == list(MODEL_NAMES)
    assert workload.inputs.shape == (len(workload.labels), 64)
    assert abs(float(np.mean(workload.inputs))) < 0.2  # standardised, not raw 0..16 pixels
    assert sorted(workload.class_names) == list(range(10))
