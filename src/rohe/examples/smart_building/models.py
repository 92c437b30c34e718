"""The smart-building members, per modality, and each modality's preprocessing stage.

Time-series members (IMU, 600 numbers -> 6 x 100 standardised per channel):
- `MINI_ROCKET`: the NumPy random-kernel transform (minirocket.py), 84 kernels x 4 dilations, + ridge;
- `MINI_ROCKET_S`: the same with 12 kernels x 2 dilations (cheaper, less accurate);
- `MINI_ROCKET_AEON`: aeon's MiniRocket + ridge, only when the `aeon` extra is installed.
Video members (4 frames of 12 x 12, standardised):
- `FRAME_LINEAR`: logistic regression on the mean frame and the frame-to-frame differences (cheap);
- `FRAME_MLP`: an MLP on the raw clip.
Member names follow the IoT-journal profiles (iot_journal.py has the mapping), so measured profiles load
side by side with the published ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.neural_network import MLPClassifier  # type: ignore[import-untyped]

from rohe.core.errors import InvalidInput, NotFound, Problem
from rohe.examples.model_cache import ensure_cached, fingerprint, recipe_key
from rohe.examples.smart_building.dataset import (
    CHANNELS,
    FRAMES,
    SERIES_SIZE,
    SIDE,
    STEPS,
    VIDEO_SIZE,
    Dataset,
    FloatArray,
    load_dataset,
)
from rohe.examples.smart_building.minirocket import RandomKernelTransform, RocketClassifier
from rohe.serving.model_service import Predictor, from_sklearn

TRAINING_VERSION = "1"
MODEL_SEED = 7
CACHE_SUBDIR = Path("models") / "smart_building"
TIMESERIES, VIDEO = "timeseries", "video"
SIZES = {TIMESERIES: SERIES_SIZE, VIDEO: VIDEO_SIZE}


def aeon_available() -> bool:
    try:
        import aeon  # type: ignore[import-not-found,unused-ignore]  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class Standardiser:
    """One modality's preprocessing: flat raw sample(s) -> standardised flat features, per channel/frame."""

    modality: str
    mean: FloatArray
    std: FloatArray

    def __call__(self, batch: FloatArray) -> FloatArray:
        array = np.asarray(batch, dtype=np.float64)
        if array.ndim == 1:
            array = array.reshape(1, -1)
        size = SIZES[self.modality]
        if array.ndim != 2 or array.shape[1] != size or not np.isfinite(array).all():
            raise InvalidInput(
                f"wrong input for the {self.modality} modality",
                [Problem(f"inputs.{self.modality}", f"got shape {list(array.shape)}", f"give {size} finite numbers")],
            )
        shaped = array.reshape(len(array), len(self.mean), -1)
        return np.asarray(((shaped - self.mean[None, :, None]) / self.std[None, :, None]).reshape(len(array), -1))


def fit_standardiser(modality: str, raw: FloatArray) -> Standardiser:
    """`raw` is (samples, groups, values): one mean and spread per channel (series) or frame (video)."""
    groups = raw.transpose(1, 0, 2).reshape(raw.shape[1], -1)
    return Standardiser(modality, groups.mean(axis=1), np.maximum(groups.std(axis=1), 1e-9))


class SeriesModel:
    """A classifier over (n, CHANNELS, STEPS) fed flat standardised rows."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    @property
    def classes_(self) -> Any:
        return self.inner.classes_

    @property
    def n_features_in_(self) -> int:
        return SERIES_SIZE

    def fit(self, x: FloatArray, y: Any) -> SeriesModel:
        self.inner.fit(x.reshape(len(x), CHANNELS, STEPS), y)
        return self

    def predict_proba(self, x: FloatArray) -> FloatArray:
        return np.asarray(self.inner.predict_proba(np.asarray(x).reshape(len(x), CHANNELS, STEPS)))


class AeonRocket:
    """aeon's MiniRocket transform + the same ridge/softmax head as the NumPy member (aeon extra only)."""

    def __init__(self) -> None:
        from aeon.transformations.collection.convolution_based import (  # type: ignore[import-not-found,unused-ignore]
            MiniRocket,
        )

        self.head = RocketClassifier(RandomKernelTransform(1, (1,)))
        self.rocket = MiniRocket(n_kernels=840, random_state=MODEL_SEED)

    @property
    def classes_(self) -> Any:
        return self.head.classes_

    def fit(self, x: FloatArray, y: Any) -> AeonRocket:
        features = np.asarray(self.rocket.fit_transform(x), dtype=np.float64)
        self.head.ridge.fit(self.head.scaler.fit_transform(features), y)
        return self

    def predict_proba(self, x: FloatArray) -> FloatArray:
        features = np.asarray(self.rocket.transform(x), dtype=np.float64)
        decision = np.asarray(self.head.ridge.decision_function(self.head.scaler.transform(features)))
        logits = decision / self.head.temperature
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        return np.asarray(exp / exp.sum(axis=1, keepdims=True))


def clip_features(x: FloatArray) -> FloatArray:
    clips = np.asarray(x).reshape(len(x), FRAMES, SIDE * SIDE)
    return np.column_stack([clips.mean(axis=1), np.abs(np.diff(clips, axis=1)).reshape(len(x), -1)])


class ClipLinear:
    def __init__(self) -> None:
        self.model = LogisticRegression(C=0.05, max_iter=500)

    @property
    def classes_(self) -> Any:
        return self.model.classes_

    @property
    def n_features_in_(self) -> int:
        return VIDEO_SIZE

    def fit(self, x: FloatArray, y: Any) -> ClipLinear:
        self.model.fit(clip_features(x), y)
        return self

    def predict_proba(self, x: FloatArray) -> FloatArray:
        return np.asarray(self.model.predict_proba(clip_features(x)))


MODALITY_OF: dict[str, str] = {
    "MINI_ROCKET": TIMESERIES,
    "MINI_ROCKET_S": TIMESERIES,
    "MINI_ROCKET_AEON": TIMESERIES,
    "FRAME_LINEAR": VIDEO,
    "FRAME_MLP": VIDEO,
}
MODEL_FACTORIES: dict[str, Callable[[], Any]] = {
    "MINI_ROCKET": lambda: SeriesModel(RocketClassifier(RandomKernelTransform(84, (1, 2, 4, 8), seed=MODEL_SEED))),
    "MINI_ROCKET_S": lambda: SeriesModel(RocketClassifier(RandomKernelTransform(12, (1, 4), seed=MODEL_SEED))),
    "MINI_ROCKET_AEON": lambda: SeriesModel(AeonRocket()),
    "FRAME_LINEAR": ClipLinear,
    "FRAME_MLP": lambda: MLPClassifier(hidden_layer_sizes=(64,), max_iter=400, random_state=MODEL_SEED),
}
OPTIONAL = {"MINI_ROCKET_AEON"}


def model_names(*, with_aeon: bool | None = None) -> tuple[str, ...]:
    """The members this install serves: the aeon one only with the extra."""
    aeon = aeon_available() if with_aeon is None else with_aeon
    return tuple(name for name in MODEL_FACTORIES if aeon or name not in OPTIONAL)


@dataclass(frozen=True)
class TrainedMembers:
    preprocessors: dict[str, Standardiser]  # modality -> stage
    estimators: dict[str, Any]
    directory: Path
    trained: bool
    source: str

    def predictors(self) -> dict[str, Predictor]:
        return {name: from_sklearn(name, estimator) for name, estimator in self.estimators.items()}


def train(dataset: Dataset, names: tuple[str, ...]) -> dict[str, Any]:
    flat = {TIMESERIES: dataset.train.series.reshape(len(dataset.train), -1),
            VIDEO: dataset.train.video.reshape(len(dataset.train), -1)}
    stages = {
        TIMESERIES: fit_standardiser(TIMESERIES, dataset.train.series),
        VIDEO: fit_standardiser(VIDEO, dataset.train.video.reshape(len(dataset.train), FRAMES, -1)),
    }
    fitted: dict[str, Any] = {f"preprocessing-{m}": stage for m, stage in stages.items()}
    for name in names:
        modality = MODALITY_OF[name]
        fitted[name] = MODEL_FACTORIES[name]().fit(stages[modality](flat[modality]), dataset.train.labels)
    return fitted


def ensure_models(data_dir: Path, dataset: Dataset | None = None) -> TrainedMembers:
    """The cached members for this data and training code (trained first when absent, stale or damaged)."""
    data = dataset or load_dataset()
    names = model_names()
    recipe = {"version": TRAINING_VERSION, "models": list(names), "source": data.source}
    key = recipe_key(recipe, fingerprint(data.train.series, data.train.video, data.train.labels))
    stored = (f"preprocessing-{TIMESERIES}", f"preprocessing-{VIDEO}", *names)
    cached = ensure_cached(data_dir / CACHE_SUBDIR, key, stored, lambda: train(data, names))
    stages = {m: cached.objects[f"preprocessing-{m}"] for m in (TIMESERIES, VIDEO)}
    return TrainedMembers(stages, {n: cached.objects[n] for n in names}, cached.directory, cached.trained, data.source)


def load_model(data_dir: Path, name: str) -> Predictor:
    names = model_names()
    if name not in names:
        hint = " (MINI_ROCKET_AEON needs the aeon extra)" if name in OPTIONAL else ""
        raise NotFound(
            "unknown smart-building model",
            [Problem("model", f"{name!r} is not served here{hint}", f"use one of: {', '.join(names)}")],
        )
    return ensure_models(data_dir).predictors()[name]
