"""What `rohe profile` needs from an example: its models and a labelled set to measure them on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from rohe.core.errors import NotFound, Problem
from rohe.serving.model_service import Predictor


@dataclass(frozen=True)
class Workload:
    """Predictors and the held-out samples (already in the models' input form) with ground-truth labels.

    `trained` says whether loading the example had to train its models (the first run on a data dir).
    """

    predictors: dict[str, Predictor]
    inputs: NDArray[np.float64]
    labels: NDArray[np.int64]
    class_names: dict[int, str]
    trained: bool = False


def _object_classification(data_dir: Path) -> Workload:
    # Imported here so naming an example does not pay for scikit-learn until it is used.
    from rohe.examples.object_classification import object_classification_workload

    return object_classification_workload(data_dir)


def _registered(name: str) -> Callable[[Path], Workload]:
    def load(data_dir: Path) -> Workload:
        from rohe.examples.registry import example_app

        return example_app(name).workload(data_dir)

    return load


EXAMPLES: dict[str, Callable[[Path], Workload]] = {
    "object_classification": _object_classification,
    "bts": _registered("bts"),
    "cctvs": _registered("cctvs"),
    "smart_building": _registered("smart-building"),
}


def load_workload(example: str, data_dir: Path) -> Workload:
    """The named example's workload; `object-classification` and `object_classification` are the same."""
    key = example.strip().replace("-", "_")
    if key not in EXAMPLES:
        raise NotFound(
            "unknown example",
            [Problem("example", f"{example!r} is not an example", f"use one of: {', '.join(sorted(EXAMPLES))}")],
        )
    return EXAMPLES[key](data_dir)
