"""The five example classifiers: trained once on the fixed split, cached with joblib, loaded as Predictors.

The cache (rohe.examples.model_cache) lives under `<data_dir>/models/object_classification/<key>/`. The key
hashes TRAINING_VERSION, every model's hyper-parameters, the training data and the scikit-learn version, so
changing any of them trains afresh instead of loading a model the current code would not have produced (or
one pickled by another scikit-learn); a file whose checksum does not match its manifest is retrained.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sklearn.calibration import CalibratedClassifierCV  # type: ignore[import-untyped]
from sklearn.ensemble import RandomForestClassifier  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.neighbors import KNeighborsClassifier  # type: ignore[import-untyped]
from sklearn.neural_network import MLPClassifier  # type: ignore[import-untyped]
from sklearn.svm import SVC  # type: ignore[import-untyped]

from rohe.core.errors import NotFound, Problem
from rohe.examples.model_cache import ensure_cached, fingerprint, recipe_key
from rohe.examples.object_classification.dataset import (
    Dataset,
    Preprocessor,
    fit_preprocessor,
    load_dataset,
    preprocess,
)
from rohe.serving.model_service import Predictor, from_sklearn

# Bump when training changes in a way the hyper-parameters do not show (data split, preprocessing, ...).
TRAINING_VERSION = "1"
MODEL_SEED = 7
CACHE_SUBDIR = Path("models") / "object_classification"
PREPROCESSOR = "preprocessing"  # the scaler's name in the cache, beside the models'


def _svm() -> Any:
    # Platt scaling with internal cross-validation: what SVC(probability=True) does, spelled the way
    # scikit-learn >= 1.9 asks for (the `probability` flag is deprecated there).
    return CalibratedClassifierCV(
        SVC(kernel="rbf", C=5.0, gamma="scale", random_state=MODEL_SEED), method="sigmoid", ensemble=False
    )


# Hyper-parameters are chosen for a spread of accuracy and cost, not for the best score each family can
# reach: the heavily regularised logistic regression is cheap and the weakest, the SVM the most accurate,
# k-NN and the forest pay per-request latency for their accuracy.
MODEL_FACTORIES: dict[str, Callable[[], Any]] = {
    "logistic-regression": lambda: LogisticRegression(C=0.002, max_iter=1000),
    "knn": lambda: KNeighborsClassifier(n_neighbors=15),
    "random-forest": lambda: RandomForestClassifier(n_estimators=60, max_depth=10, random_state=MODEL_SEED),
    "rbf-svm": _svm,
    "mlp": lambda: MLPClassifier(hidden_layer_sizes=(64,), max_iter=600, random_state=MODEL_SEED),
}
MODEL_NAMES: tuple[str, ...] = tuple(MODEL_FACTORIES)


def cache_key(dataset: Dataset | None = None) -> str:
    """Hex digest identifying the training code, its data and the library that pickles the models."""
    data = dataset or load_dataset()
    recipe = {
        "training_version": TRAINING_VERSION,
        "models": {name: repr(factory()) for name, factory in MODEL_FACTORIES.items()},
    }
    return recipe_key(recipe, fingerprint(data.train.features, data.train.labels))


def cache_dir(data_dir: Path, dataset: Dataset | None = None) -> Path:
    return data_dir / CACHE_SUBDIR / cache_key(dataset)


@dataclass(frozen=True)
class TrainedModels:
    """The fitted preprocessing stage and classifiers, and whether this call trained them."""

    preprocessor: Preprocessor
    estimators: dict[str, Any]
    directory: Path
    trained: bool

    def predictors(self) -> dict[str, Predictor]:
        return {name: from_sklearn(name, estimator) for name, estimator in self.estimators.items()}


def train_models(dataset: Dataset) -> tuple[Preprocessor, dict[str, Any]]:
    """Fit the preprocessing stage on the training split, then every classifier on its output."""
    preprocessor = fit_preprocessor(dataset.train)
    scaled = preprocess(preprocessor, dataset.train.features)
    estimators = {name: factory().fit(scaled, dataset.train.labels) for name, factory in MODEL_FACTORIES.items()}
    return preprocessor, estimators


def _fitted(dataset: Dataset) -> dict[str, Any]:
    preprocessor, estimators = train_models(dataset)
    return {PREPROCESSOR: preprocessor.scaler, **estimators}


def ensure_models(data_dir: Path, dataset: Dataset | None = None) -> TrainedModels:
    """Load the cached models for the current training code, training and caching them first if absent."""
    data = dataset or load_dataset()
    cached = ensure_cached(
        data_dir / CACHE_SUBDIR, cache_key(data), (PREPROCESSOR, *MODEL_NAMES), lambda: _fitted(data)
    )
    objects = dict(cached.objects)
    preprocessor = Preprocessor(objects.pop(PREPROCESSOR))
    return TrainedModels(preprocessor, {n: objects[n] for n in MODEL_NAMES}, cached.directory, cached.trained)


def load_models(data_dir: Path) -> dict[str, Predictor]:
    """Every example model as a Predictor over preprocessed features (see `load_preprocessor`)."""
    return ensure_models(data_dir).predictors()


def load_preprocessor(data_dir: Path) -> Preprocessor:
    return ensure_models(data_dir).preprocessor


def load_model(data_dir: Path, name: str) -> Predictor:
    """One example model by name; NotFound lists the names there are."""
    if name not in MODEL_FACTORIES:
        raise NotFound(
            "unknown example model",
            [Problem("model", f"{name!r} is not an example model", f"use one of: {', '.join(MODEL_NAMES)}")],
        )
    return load_models(data_dir)[name]
