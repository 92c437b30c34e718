"""CCTV object detection: window classifiers of different size and speed (HOG + linear SVM at two cell
sizes, strides and scales; a small MLP), detection-shaped fusion across members (weighted box fusion after
per-member NMS) and precision / recall / mAP@0.5 per class on generated scenes with ground-truth boxes;
two consumer contracts and ROHE's cctvs contract (package data under `data/`).

Through the gateway a request is one candidate window (the classification stage of the detector); whole
frames are detected by `detect.detect`, which scans with each member and fuses boxes. Data: scenes.py.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from rohe.examples.cctvs import observation
from rohe.examples.cctvs.models import MODEL_NAMES, SCANS, TrainedDetectors, ensure_models, load_model
from rohe.examples.cctvs.scenes import CLASS_NAMES, PATCH, load_dataset
from rohe.examples.workload import Workload
from rohe.observation.evaluation.cdm_expressions import register_derivation

CONSUMER_CONTRACTS = ("security-guard.yaml", "people-counter.yaml")
ROHE_CONTRACT = "rohe-cctvs.yaml"
CONTRACT_FILES = (*CONSUMER_CONTRACTS, ROHE_CONTRACT)
PIPELINE_FILE = "pipeline.yaml"

# Agents in this process evaluate ROHE's contract on this application's vocabulary (observation.py).
register_derivation(observation.APPLICATION, observation.derivation())


def data_file(name: str) -> Path:
    return Path(str(files("rohe.examples.cctvs") / "data" / name))


def cctvs_workload(data_dir: Path) -> Workload:
    """The window classifiers and the standardised held-out windows, labelled."""
    trained = ensure_models(data_dir)
    x, y = load_dataset().test_patches
    return Workload(
        predictors=trained.predictors(),
        inputs=trained.scaler(x),
        labels=y,
        class_names=dict(CLASS_NAMES),
        trained=trained.trained,
    )


def raw_samples() -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Held-out raw windows (what a client sends) and their classes."""
    x, y = load_dataset().test_patches
    return np.asarray(x, dtype=np.float64), y


__all__ = [
    "CLASS_NAMES",
    "CONTRACT_FILES",
    "MODEL_NAMES",
    "PATCH",
    "PIPELINE_FILE",
    "SCANS",
    "TrainedDetectors",
    "cctvs_workload",
    "data_file",
    "ensure_models",
    "load_model",
    "raw_samples",
]
