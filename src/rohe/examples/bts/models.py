"""The bts forecasters: four members of different cost and accuracy, and the scaling stage before them.

The scaling stage (sensor ingestion) standardises a raw window with the training series' mean and spread;
every member reads that scaled window and picks its own lags:
- `seasonal-naive`: the mean of the readings one day and one week earlier (no fitting; cheapest);
- `exp-smoothing`: exponentially weighted mean of the same hour on the last seven days, the smoothing
  factor fitted on the training weeks;
- `gradient-boosting`: gradient boosting on lag features (1-3 h, 23-25 h, 48 h, 167-168 h, the last
  day's mean); scikit-learn's single-threaded one, so it never fights the serving threads for cores;
- `mlp`: a small neural forecaster (scikit-learn MLP) on the whole scaled week.
Each answers a two-hot probability vector over the energy bins (series.py), so the gateway's weighted
aggregation is a weighted mean of forecasts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.ensemble import GradientBoostingRegressor  # type: ignore[import-untyped]
from sklearn.neural_network import MLPRegressor  # type: ignore[import-untyped]

from rohe.core.errors import NotFound, Problem
from rohe.examples.bts.series import (
    N_BINS,
    WINDOW,
    Dataset,
    FloatArray,
    check_window,
    load_dataset,
    two_hot,
)
from rohe.examples.model_cache import Cached, ensure_cached, fingerprint, recipe_key
from rohe.serving.model_service import Predictor, from_callable

TRAINING_VERSION = "1"
MODEL_SEED = 7
CACHE_SUBDIR = Path("models") / "bts"
PREPROCESSOR = "scaler"
LAGS = np.array([1, 2, 3, 23, 24, 25, 48, 167, 168])


@dataclass(frozen=True)
class Scaler:
    """The ingestion scaling: one mean and spread for every reading (they all measure the same meter)."""

    mean: float
    std: float

    def __call__(self, windows: FloatArray) -> FloatArray:
        return (check_window(windows) - self.mean) / self.std

    def unscale(self, values: FloatArray) -> FloatArray:
        return np.asarray(values, dtype=np.float64) * self.std + self.mean


class SeasonalNaive:
    def fit(self, x: FloatArray, y: FloatArray) -> SeasonalNaive:
        return self

    def predict(self, x: FloatArray) -> FloatArray:
        return np.asarray((x[:, -24] + x[:, -168]) / 2.0, dtype=np.float64)


class SeasonalSmoothing:
    """Same-hour values of the last 7 days, weighted alpha * (1 - alpha)^(days back - 1), renormalised."""

    alpha: float = 0.5

    def _weights(self, alpha: float) -> FloatArray:
        w = alpha * (1 - alpha) ** np.arange(7)
        return np.asarray(w / w.sum(), dtype=np.float64)

    def _same_hour(self, x: FloatArray) -> FloatArray:
        return np.asarray(x[:, [WINDOW - 24 * d for d in range(1, 8)]], dtype=np.float64)

    def fit(self, x: FloatArray, y: FloatArray) -> SeasonalSmoothing:
        same = self._same_hour(x)
        grid = np.linspace(0.05, 0.95, 19)
        errors = [float(np.mean(np.abs(same @ self._weights(a) - y))) for a in grid]
        self.alpha = float(grid[int(np.argmin(errors))])
        return self

    def predict(self, x: FloatArray) -> FloatArray:
        return np.asarray(self._same_hour(x) @ self._weights(self.alpha), dtype=np.float64)


class LagBoosting:
    def __init__(self) -> None:
        self.model = GradientBoostingRegressor(n_estimators=80, max_depth=3, random_state=MODEL_SEED)

    @staticmethod
    def features(x: FloatArray) -> FloatArray:
        return np.column_stack([x[:, WINDOW - LAGS], x[:, -24:].mean(axis=1)])

    def fit(self, x: FloatArray, y: FloatArray) -> LagBoosting:
        self.model.fit(self.features(x), y)
        return self

    def predict(self, x: FloatArray) -> FloatArray:
        return np.asarray(self.model.predict(self.features(x)), dtype=np.float64)


class WindowMLP:
    def __init__(self) -> None:
        self.model = MLPRegressor(hidden_layer_sizes=(32,), max_iter=300, early_stopping=True, random_state=MODEL_SEED)

    def fit(self, x: FloatArray, y: FloatArray) -> WindowMLP:
        self.model.fit(x, y)
        return self

    def predict(self, x: FloatArray) -> FloatArray:
        return np.asarray(self.model.predict(x), dtype=np.float64)


MODEL_FACTORIES: dict[str, Callable[[], Any]] = {
    "seasonal-naive": SeasonalNaive,
    "exp-smoothing": SeasonalSmoothing,
    "gradient-boosting": LagBoosting,
    "mlp": WindowMLP,
}
MODEL_NAMES: tuple[str, ...] = tuple(MODEL_FACTORIES)


@dataclass(frozen=True)
class TrainedForecasters:
    scaler: Scaler
    regressors: dict[str, Any]
    directory: Path
    trained: bool

    def forecast(self, name: str, scaled: FloatArray) -> FloatArray:
        """kWh forecasts of member `name` for scaled windows."""
        return self.scaler.unscale(self.regressors[name].predict(scaled))

    def predictor(self, name: str) -> Predictor:
        def probabilities(batch: FloatArray) -> FloatArray:
            return two_hot(self.forecast(name, np.asarray(batch, dtype=np.float64)))

        return from_callable(name, probabilities, list(range(N_BINS)), WINDOW)

    def predictors(self) -> dict[str, Predictor]:
        return {name: self.predictor(name) for name in self.regressors}


def train(dataset: Dataset) -> dict[str, Any]:
    values = dataset.train.windows
    scaler = Scaler(float(values.mean()), float(values.std()))
    x = scaler(dataset.train.windows)
    y = (dataset.train.targets - scaler.mean) / scaler.std
    fitted: dict[str, Any] = {PREPROCESSOR: scaler}
    fitted.update({name: factory().fit(x, y) for name, factory in MODEL_FACTORIES.items()})
    return fitted


def ensure_models(data_dir: Path, dataset: Dataset | None = None) -> TrainedForecasters:
    """The cached forecasters for this data and training code, trained and cached first when absent or damaged."""
    data = dataset or load_dataset()
    recipe = {"version": TRAINING_VERSION, "lags": LAGS.tolist(), "models": list(MODEL_NAMES)}
    key = recipe_key(recipe, fingerprint(data.train.windows, data.train.targets))
    cached: Cached = ensure_cached(data_dir / CACHE_SUBDIR, key, (PREPROCESSOR, *MODEL_NAMES), lambda: train(data))
    objects = dict(cached.objects)
    scaler = objects.pop(PREPROCESSOR)
    return TrainedForecasters(scaler, {n: objects[n] for n in MODEL_NAMES}, cached.directory, cached.trained)


def load_model(data_dir: Path, name: str) -> Predictor:
    if name not in MODEL_FACTORIES:
        raise NotFound(
            "unknown bts model",
            [Problem("model", f"{name!r} is not a bts model", f"use one of: {', '.join(MODEL_NAMES)}")],
        )
    return ensure_models(data_dir).predictor(name)
