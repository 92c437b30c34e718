"""The bts forecasters: accurate enough on held-out weeks, cached once, rebuilt when the cache is damaged,
and their bin vectors decode back to the forecasts (so averaging vectors averages forecasts)."""

from __future__ import annotations

import numpy as np
from bts_fixtures import TrainedBts
from hypothesis import given, settings
from hypothesis import strategies as st

from rohe.examples.bts.models import MODEL_NAMES, ensure_models
from rohe.examples.bts.series import BIN_KWH, N_BINS, decode, two_hot

# MAE floors in kWh on held-out weeks (the series' load spans 0.9-2.5 kWh); the learned members must
# beat the seasonal baseline.
MAE_CEILING = {"seasonal-naive": 0.3, "exp-smoothing": 0.3, "gradient-boosting": 0.2, "mlp": 0.3}


def test_each_forecaster_beats_its_mae_ceiling_on_held_out_weeks(bts: TrainedBts) -> None:
    test = bts.dataset.test
    scaled = bts.first.scaler(test.windows)
    mae = {name: float(np.mean(np.abs(bts.first.forecast(name, scaled) - test.targets))) for name in MODEL_NAMES}
    for name, ceiling in MAE_CEILING.items():
        assert mae[name] < ceiling, (name, mae[name])
    assert mae["gradient-boosting"] < mae["seasonal-naive"]
    probabilities = bts.first.predictor("gradient-boosting").predict_proba(scaled)
    assert np.mean(probabilities.argmax(axis=1) == test.labels) > 0.4  # in the actual value's 0.25 kWh bin


def test_second_load_comes_from_the_cache_and_a_truncated_file_is_rebuilt(bts: TrainedBts) -> None:
    assert bts.first.trained
    again = ensure_models(bts.data_dir, bts.dataset)
    assert not again.trained and again.directory == bts.first.directory
    victim = bts.first.directory / "mlp.joblib"
    victim.write_bytes(victim.read_bytes()[:100])
    rebuilt = ensure_models(bts.data_dir, bts.dataset)
    assert rebuilt.trained
    assert not ensure_models(bts.data_dir, bts.dataset).trained


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0.5 * BIN_KWH, (N_BINS - 0.5) * BIN_KWH), min_size=1, max_size=4),
       st.lists(st.floats(0.1, 5.0), min_size=4, max_size=4))
def test_weighted_mean_of_two_hot_vectors_decodes_to_weighted_mean_forecast(
    forecasts: list[float], weights: list[float]
) -> None:
    vectors = two_hot(np.asarray(forecasts))
    w = np.asarray(weights[: len(forecasts)])
    assert np.allclose(vectors.sum(axis=1), 1.0)
    mixed = (w[:, None] * vectors).sum(axis=0) / w.sum()
    assert np.isclose(decode(mixed)[0], np.average(forecasts, weights=w))
