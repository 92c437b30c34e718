"""The cctvs window classifiers (background / person / vehicle on a 16 x 16 window) and their detectors.

- `hog-svm-coarse`: HOG with 8-pixel cells (36 numbers) + linear SVM; detects at stride 8, one scale;
- `hog-svm-fine`: HOG with 4-pixel cells (144 numbers) + linear SVM; stride 4, scales 1 and 0.8;
- `mlp`: a small MLP on the raw (standardised) window; stride 4, one scale.
SVM probabilities come from sigmoid (Platt) calibration. The preprocessing stage standardises a window
with the training windows' mean and spread; every member reads that.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV  # type: ignore[import-untyped]
from sklearn.neural_network import MLPClassifier  # type: ignore[import-untyped]
from sklearn.svm import LinearSVC  # type: ignore[import-untyped]

from rohe.core.errors import InvalidInput, NotFound, Problem
from rohe.examples.cctvs.hog import hog
from rohe.examples.cctvs.scenes import PATCH, Dataset, FloatArray, load_dataset
from rohe.examples.model_cache import ensure_cached, fingerprint, recipe_key
from rohe.serving.model_service import Predictor, from_sklearn

TRAINING_VERSION = "1"
MODEL_SEED = 7
CACHE_SUBDIR = Path("models") / "cctvs"
PREPROCESSOR = "preprocessing"


@dataclass(frozen=True)
class WindowScaler:
    mean: float
    std: float

    def __call__(self, batch: FloatArray) -> FloatArray:
        array = np.asarray(batch, dtype=np.float64)
        if array.ndim == 1:
            array = array.reshape(1, -1)
        if array.ndim != 2 or array.shape[1] != PATCH * PATCH or not np.isfinite(array).all():
            raise InvalidInput(
                "wrong input for the cctvs window classifiers",
                [Problem("input", f"got shape {list(array.shape)}", f"give one {PATCH} x {PATCH} grey window by rows")],
            )
        return (array - self.mean) / self.std


class HogSvm:
    def __init__(self, cell: int) -> None:
        self.cell = cell
        self.model = CalibratedClassifierCV(LinearSVC(C=1.0, random_state=MODEL_SEED), method="sigmoid", cv=3)

    @property
    def classes_(self) -> Any:
        return self.model.classes_

    @property
    def n_features_in_(self) -> int:
        return PATCH * PATCH

    def fit(self, x: FloatArray, y: Any) -> HogSvm:
        self.model.fit(hog(x, PATCH, self.cell), y)
        return self

    def predict_proba(self, x: FloatArray) -> FloatArray:
        return np.asarray(self.model.predict_proba(hog(x, PATCH, self.cell)))


@dataclass(frozen=True)
class Scan:
    """How a member's detector slides its window: stride in pixels and frame scales."""

    stride: int
    scales: tuple[float, ...]


MODEL_FACTORIES: dict[str, Callable[[], Any]] = {
    "hog-svm-coarse": lambda: HogSvm(8),
    "hog-svm-fine": lambda: HogSvm(4),
    "mlp": lambda: MLPClassifier(hidden_layer_sizes=(64,), max_iter=300, random_state=MODEL_SEED),
}
SCANS: dict[str, Scan] = {
    "hog-svm-coarse": Scan(8, (1.0,)),
    "hog-svm-fine": Scan(4, (1.0, 0.8)),
    "mlp": Scan(4, (1.0,)),
}
MODEL_NAMES: tuple[str, ...] = tuple(MODEL_FACTORIES)


@dataclass(frozen=True)
class TrainedDetectors:
    scaler: WindowScaler
    estimators: dict[str, Any]
    directory: Path
    trained: bool

    def predictors(self) -> dict[str, Predictor]:
        return {name: from_sklearn(name, estimator) for name, estimator in self.estimators.items()}


def train(dataset: Dataset) -> dict[str, Any]:
    x, y = dataset.train_patches
    scaler = WindowScaler(float(x.mean()), float(x.std()))
    fitted: dict[str, Any] = {PREPROCESSOR: scaler}
    fitted.update({name: factory().fit(scaler(x), y) for name, factory in MODEL_FACTORIES.items()})
    return fitted


def ensure_models(data_dir: Path, dataset: Dataset | None = None) -> TrainedDetectors:
    """The cached window classifiers (trained first when absent, stale or damaged)."""
    data = dataset or load_dataset()
    recipe = {"version": TRAINING_VERSION, "models": list(MODEL_NAMES)}
    key = recipe_key(recipe, fingerprint(*data.train_patches))
    cached = ensure_cached(data_dir / CACHE_SUBDIR, key, (PREPROCESSOR, *MODEL_NAMES), lambda: train(data))
    return TrainedDetectors(
        cached.objects[PREPROCESSOR], {n: cached.objects[n] for n in MODEL_NAMES}, cached.directory, cached.trained
    )


def load_model(data_dir: Path, name: str) -> Predictor:
    if name not in MODEL_FACTORIES:
        raise NotFound(
            "unknown cctvs model",
            [Problem("model", f"{name!r} is not a cctvs model", f"use one of: {', '.join(MODEL_NAMES)}")],
        )
    return ensure_models(data_dir).predictors()[name]
