"""Building / base-station energy forecasting: four forecasters of different cost and accuracy behind one
scaling stage, averaged; a pipeline spec, two consumer contracts and ROHE's bts contract (package data
under `data/`). Data, bins and the meaning of accuracy for a forecaster: series.py."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import numpy as np

from rohe.examples.bts import observation
from rohe.examples.bts.models import MODEL_NAMES, TrainedForecasters, ensure_models, load_model
from rohe.examples.bts.series import CLASS_NAMES, WINDOW, decode, load_dataset, two_hot
from rohe.examples.workload import Workload
from rohe.observation.evaluation.cdm_expressions import register_derivation

CONSUMER_CONTRACTS = ("grid-operator.yaml", "dashboard.yaml")
ROHE_CONTRACT = "rohe-bts.yaml"
CONTRACT_FILES = (*CONSUMER_CONTRACTS, ROHE_CONTRACT)
PIPELINE_FILE = "pipeline.yaml"
MODALITY = "energy"

# Agents in this process evaluate ROHE's contract on this application's vocabulary (observation.py).
register_derivation(observation.APPLICATION, observation.derivation())


def data_file(name: str) -> Path:
    return Path(str(files("rohe.examples.bts") / "data" / name))


def bts_workload(data_dir: Path) -> Workload:
    """The forecasters and the scaled test weeks they have never seen, labelled with the actual bin."""
    trained = ensure_models(data_dir)
    test = load_dataset().test
    return Workload(
        predictors=trained.predictors(),
        inputs=trained.scaler(test.windows),
        labels=test.labels,
        class_names=dict(CLASS_NAMES),
        trained=trained.trained,
    )


def raw_samples() -> tuple[np.ndarray, np.ndarray]:
    """Held-out raw windows (what a client sends) and their labels (the actual reading's bin)."""
    test = load_dataset().test
    return test.windows, test.labels


__all__ = [
    "CLASS_NAMES",
    "CONTRACT_FILES",
    "MODALITY",
    "MODEL_NAMES",
    "PIPELINE_FILE",
    "WINDOW",
    "TrainedForecasters",
    "bts_workload",
    "data_file",
    "decode",
    "ensure_models",
    "load_model",
    "raw_samples",
    "two_hot",
]
