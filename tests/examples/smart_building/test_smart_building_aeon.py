"""The `aeon` extra's path: the real BasicMotions recordings and aeon's MiniRocket member. The default install
and CI do not have aeon, so these tests skip there (with the reason); run them with the extra installed:
`pip install -e '.[test,aeon]' && pytest tests/examples/smart_building`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rohe.examples.smart_building.dataset import CHANNELS, load_dataset
from rohe.examples.smart_building.models import MODALITY_OF, TIMESERIES, ensure_models, load_model, model_names

pytest.importorskip("aeon", reason="the aeon extra is not installed (pip install 'rohe[aeon]')")


def test_the_real_basic_motions_recordings_are_read() -> None:
    dataset = load_dataset()
    assert dataset.source == "aeon BasicMotions"
    assert dataset.train.series.shape == (40, CHANNELS, 100) and dataset.test.series.shape == (40, CHANNELS, 100)
    assert sorted(np.unique(dataset.train.labels)) == [0, 1, 2, 3]
    assert np.bincount(dataset.test.labels).tolist() == [10, 10, 10, 10]


def test_aeons_minirocket_serves_beside_the_numpy_members(tmp_path: Path) -> None:
    assert "MINI_ROCKET_AEON" in model_names()
    dataset = load_dataset()
    members = ensure_models(tmp_path, dataset)
    assert members.source == "aeon BasicMotions"
    x = members.preprocessors[TIMESERIES](dataset.test.series.reshape(len(dataset.test), -1))
    for name in ("MINI_ROCKET_AEON", "MINI_ROCKET"):
        assert MODALITY_OF[name] == TIMESERIES
        accuracy = float(np.mean(members.predictors()[name].predict_proba(x).argmax(axis=1) == dataset.test.labels))
        assert accuracy >= 0.9, (name, accuracy)  # BasicMotions is an easy set: MiniRocket scores ~1.0 on it
    assert load_model(tmp_path, "MINI_ROCKET_AEON").name == "MINI_ROCKET_AEON"
