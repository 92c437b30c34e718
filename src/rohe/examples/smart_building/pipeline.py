"""The smart-building pipeline's preprocessing entrypoints, one per modality of its spec.

Each standardises one raw sample with the training set's per-channel (IMU) or per-frame (video) mean and
spread, loading the cached stages from the data directory on first use.
"""

from __future__ import annotations

import functools

import numpy as np

from rohe.core.config import Settings
from rohe.examples.smart_building.models import TIMESERIES, VIDEO, Standardiser, ensure_models


@functools.lru_cache(maxsize=1)
def _stages() -> dict[str, Standardiser]:
    return ensure_models(Settings().data_dir).preprocessors


def standardise_series(sample: list[float]) -> list[float]:
    """600 IMU numbers (6 channels x 100 steps, channel by channel) -> standardised features."""
    return [float(x) for x in _stages()[TIMESERIES](np.asarray(sample, dtype=np.float64))[0]]


def standardise_video(sample: list[float]) -> list[float]:
    """576 pixel values (4 frames of 12 x 12) -> standardised features."""
    return [float(x) for x in _stages()[VIDEO](np.asarray(sample, dtype=np.float64))[0]]
