"""Object classification on the bundled digits: five scikit-learn models behind one preprocessing stage,
a pipeline spec and two consumer contracts (shipped as package data under `data/`)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from rohe.examples.object_classification.dataset import (
    CLASS_NAMES,
    Dataset,
    Preprocessor,
    Split,
    fit_preprocessor,
    load_dataset,
    preprocess,
)
from rohe.examples.object_classification.models import (
    MODEL_NAMES,
    TrainedModels,
    cache_dir,
    cache_key,
    ensure_models,
    load_model,
    load_models,
    load_preprocessor,
    train_models,
)
from rohe.examples.workload import Workload

CONTRACT_FILES = ("accuracy-first.yaml", "fast-and-cheap.yaml")
PIPELINE_FILE = "pipeline.yaml"


def data_file(name: str) -> Path:
    """Path of a file shipped in `data/` (pipeline spec, consumer contracts)."""
    return Path(str(files("rohe.examples.object_classification") / "data" / name))


def object_classification_workload(data_dir: Path) -> Workload:
    """The five models and the preprocessed test split they have never seen."""
    trained = ensure_models(data_dir)
    test = load_dataset().test
    return Workload(
        predictors=trained.predictors(),
        inputs=preprocess(trained.preprocessor, test.features),
        labels=test.labels,
        class_names=dict(CLASS_NAMES),
        trained=trained.trained,
    )


__all__ = [
    "CLASS_NAMES",
    "CONTRACT_FILES",
    "MODEL_NAMES",
    "PIPELINE_FILE",
    "Dataset",
    "Preprocessor",
    "Split",
    "TrainedModels",
    "cache_dir",
    "cache_key",
    "data_file",
    "ensure_models",
    "fit_preprocessor",
    "load_dataset",
    "load_model",
    "load_models",
    "load_preprocessor",
    "object_classification_workload",
    "preprocess",
    "train_models",
]
