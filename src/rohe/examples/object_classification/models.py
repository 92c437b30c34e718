"""The five example classifiers: trained once on the fixed split, cached with joblib, loaded as Predictors.

The cache lives under `<data_dir>/models/object_classification/<key>/`. The key hashes TRAINING_VERSION,
the scikit-learn version and every model's hyper-parameters, so changing any of them trains afresh instead
of loading a model the current code would not have produced (or one pickled by another scikit-learn).
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib  # type: ignore[import-untyped]
import sklearn  # type: ignore[import-untyped]
from sklearn.calibration import CalibratedClassifierCV  # type: ignore[import-untyped]
from sklearn.ensemble import RandomForestClassifier  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.neighbors import KNeighborsClassifier  # type: ignore[import-untyped]
from sklearn.neural_network import MLPClassifier  # type: ignore[import-untyped]
from sklearn.svm import SVC  # type: ignore[import-untyped]

from rohe.core.errors import NotFound, Problem
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
_MANIFEST = "manifest.json"
_PREPROCESSOR_FILE = "preprocessing.joblib"


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


def cache_key() -> str:
    """Hex digest identifying the training code and the library that pickles the models."""
    recipe = {
        "training_version": TRAINING_VERSION,
        "sklearn": sklearn.__version__,
        "models": {name: repr(factory()) for name, factory in MODEL_FACTORIES.items()},
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]


def cache_dir(data_dir: Path) -> Path:
    return data_dir / CACHE_SUBDIR / cache_key()


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


def _atomic_dump(value: Any, path: Path) -> None:
    # A half-written file must never be loaded: write beside it, then rename over.
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(handle)
    try:
        joblib.dump(value, temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _save(directory: Path, preprocessor: Preprocessor, estimators: dict[str, Any]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    _atomic_dump(preprocessor.scaler, directory / _PREPROCESSOR_FILE)
    for name, estimator in estimators.items():
        _atomic_dump(estimator, directory / f"{name}.joblib")
    # The manifest goes last: its presence means every file before it is complete.
    manifest = {"key": directory.name, "sklearn": sklearn.__version__, "models": list(estimators)}
    (directory / _MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def _load(directory: Path) -> tuple[Preprocessor, dict[str, Any]] | None:
    manifest_path = directory / _MANIFEST
    if not manifest_path.is_file():
        return None
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    if manifest.get("models") != list(MODEL_NAMES):
        return None
    try:
        scaler = joblib.load(directory / _PREPROCESSOR_FILE)
        estimators = {name: joblib.load(directory / f"{name}.joblib") for name in MODEL_NAMES}
    except (OSError, EOFError, ValueError, KeyError, AttributeError, ImportError, pickle.UnpicklingError):
        # A damaged cache is retrained rather than reported: it holds nothing the user wrote.
        return None
    return Preprocessor(scaler), estimators


def ensure_models(data_dir: Path, dataset: Dataset | None = None) -> TrainedModels:
    """Load the cached models for the current training code, training and caching them first if absent."""
    directory = cache_dir(data_dir)
    loaded = _load(directory)
    if loaded is not None:
        return TrainedModels(loaded[0], loaded[1], directory, trained=False)
    preprocessor, estimators = train_models(dataset or load_dataset())
    _save(directory, preprocessor, estimators)
    return TrainedModels(preprocessor, estimators, directory, trained=True)


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
