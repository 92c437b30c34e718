"""Smart-building multimodal activity recognition (the IoT-journal application): MiniRocket-family members
on an IMU stream and small members on camera clips, per-modality budgets and late fusion through the
pipeline spec's modalities; two consumer contracts and ROHE's smart_building contract (package data under
`data/`). Data: dataset.py; members: models.py; published profiles: iot_journal.py."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from rohe.examples.smart_building import observation
from rohe.examples.smart_building.dataset import CLASS_NAMES, SERIES_SIZE, VIDEO_SIZE, load_dataset
from rohe.examples.smart_building.models import (
    MODALITY_OF,
    TIMESERIES,
    VIDEO,
    TrainedMembers,
    ensure_models,
    load_model,
    model_names,
)
from rohe.examples.workload import Workload
from rohe.observation.evaluation.cdm_expressions import register_derivation

CONSUMER_CONTRACTS = ("safety-monitor.yaml", "hvac-control.yaml")
ROHE_CONTRACT = "rohe-smart_building.yaml"
CONTRACT_FILES = (*CONSUMER_CONTRACTS, ROHE_CONTRACT)
PIPELINE_FILE = "pipeline.yaml"
# A flat sample is the modalities' raw inputs one after the other, in this order and these sizes.
MODALITY_SIZES: tuple[tuple[str, int], ...] = ((TIMESERIES, SERIES_SIZE), (VIDEO, VIDEO_SIZE))

# Agents in this process evaluate ROHE's contract on this application's vocabulary (observation.py).
register_derivation(observation.APPLICATION, observation.derivation())


def data_file(name: str) -> Path:
    return Path(str(files("rohe.examples.smart_building") / "data" / name))


def split_sample(sample: list[float] | tuple[float, ...]) -> dict[str, list[float]]:
    """A flat sample (series then video) -> the gateway's `inputs` field, modality by modality."""
    out: dict[str, list[float]] = {}
    start = 0
    for modality, size in MODALITY_SIZES:
        out[modality] = [float(x) for x in sample[start : start + size]]
        start += size
    return out


def raw_samples() -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Held-out flat samples (600 IMU numbers then 576 pixels) and their activity labels."""
    test = load_dataset().test
    flat = np.column_stack([test.series.reshape(len(test), -1), test.video.reshape(len(test), -1)])
    return flat, test.labels


def smart_building_workload(data_dir: Path) -> Workload:
    """Every member with the test split in its modality's preprocessed form.

    A Workload holds one input matrix, so each member is profiled through a wrapper that picks its own
    modality's columns out of the concatenated preprocessed modalities.
    """
    trained = ensure_models(data_dir)
    test = load_dataset().test
    series = trained.preprocessors[TIMESERIES](test.series.reshape(len(test), -1))
    video = trained.preprocessors[VIDEO](test.video.reshape(len(test), -1))
    inputs = np.column_stack([series, video])
    from rohe.serving.model_service import Predictor, from_callable

    def columns(name: str, predictor: Predictor) -> Predictor:
        lo, hi = (0, SERIES_SIZE) if MODALITY_OF[name] == TIMESERIES else (SERIES_SIZE, SERIES_SIZE + VIDEO_SIZE)
        return from_callable(name, lambda batch: predictor.predict_proba(batch[:, lo:hi]), predictor.classes)

    return Workload(
        predictors={n: columns(n, p) for n, p in trained.predictors().items()},
        inputs=inputs,
        labels=test.labels,
        class_names=dict(CLASS_NAMES),
        trained=trained.trained,
    )


def modality_workloads(data_dir: Path) -> dict[str, Workload]:
    """One workload per modality: its members and the test split in that modality's preprocessed form
    (what profiling over HTTP sends each model service)."""
    trained = ensure_models(data_dir)
    test = load_dataset().test
    raw = {TIMESERIES: test.series.reshape(len(test), -1), VIDEO: test.video.reshape(len(test), -1)}
    predictors = trained.predictors()
    return {
        modality: Workload(
            predictors={n: p for n, p in predictors.items() if MODALITY_OF[n] == modality},
            inputs=trained.preprocessors[modality](raw[modality]),
            labels=test.labels,
            class_names=dict(CLASS_NAMES),
            trained=trained.trained,
        )
        for modality in (TIMESERIES, VIDEO)
    }


__all__ = [
    "CLASS_NAMES",
    "CONTRACT_FILES",
    "MODALITY_SIZES",
    "PIPELINE_FILE",
    "TrainedMembers",
    "data_file",
    "ensure_models",
    "load_model",
    "modality_workloads",
    "model_names",
    "raw_samples",
    "smart_building_workload",
    "split_sample",
]
