"""The smart-building members per modality, the always-available MiniRocket-family fallback, the cache,
and measured profiles loading side by side with the published IoT-journal profiles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from smart_building_fixtures import TrainedSmartBuilding

from rohe.core.errors import NotFound
from rohe.examples.smart_building.iot_journal import COUNTERPARTS, published_names, side_by_side
from rohe.examples.smart_building.models import MODALITY_OF, aeon_available, ensure_models, load_model, model_names
from rohe.serving.profiling import profile_models
from shared_inputs import IOT_JOURNAL

# Floors on the small test set (25 recordings per class to train; chance is 0.25).
FLOOR = {"MINI_ROCKET": 0.85, "MINI_ROCKET_AEON": 0.85, "MINI_ROCKET_S": 0.6, "FRAME_LINEAR": 0.6, "FRAME_MLP": 0.4}


def test_each_member_is_accurate_on_held_out_recordings(smart_building: TrainedSmartBuilding) -> None:
    labels = smart_building.dataset.test.labels
    for name, predictor in smart_building.first.predictors().items():
        modality = MODALITY_OF[name]
        x = smart_building.first.preprocessors[modality](smart_building.raw(modality))
        accuracy = float(np.mean(predictor.predict_proba(x).argmax(axis=1) == labels))
        assert accuracy > FLOOR[name], (name, accuracy)


def test_without_aeon_the_numpy_minirocket_members_serve_and_the_aeon_one_is_explained(tmp_path: Path) -> None:
    assert "MINI_ROCKET_AEON" not in model_names(with_aeon=False)
    assert {"MINI_ROCKET", "MINI_ROCKET_S"} <= set(model_names(with_aeon=False))
    if not aeon_available():
        with pytest.raises(NotFound, match="aeon"):
            load_model(tmp_path, "MINI_ROCKET_AEON")


def test_a_truncated_cache_file_is_rebuilt(smart_building: TrainedSmartBuilding) -> None:
    assert smart_building.first.trained
    assert not ensure_models(smart_building.data_dir, smart_building.dataset).trained
    (smart_building.first.directory / "MINI_ROCKET_S.joblib").write_bytes(b"\x80\x04truncated")
    assert ensure_models(smart_building.data_dir, smart_building.dataset).trained


@pytest.mark.skipif(not IOT_JOURNAL.is_dir(), reason="the IoT_journal data set is not on this machine")
def test_measured_profiles_sit_beside_the_published_ones(smart_building: TrainedSmartBuilding) -> None:
    workload = smart_building.workload("timeseries")
    measured = profile_models(workload.predictors, workload.inputs, workload.labels, "local",
                              repeats=5, warmup=1, batch_size=8, rounds=1)
    mixed = side_by_side(measured, IOT_JOURNAL)
    assert mixed.profile("MINI_ROCKET", "local") is not None
    assert mixed.profile("MINI_ROCKET", "jetson_nano-gpu") is not None  # published, same model name
    renamed = published_names(measured)
    assert {p.model for p in renamed.profiles} == {"MINI_ROCKET"}
    assert set(COUNTERPARTS.values()) <= {p.model for p in mixed.profiles} | {"X3D_XS", "X3D_L"}
