"""The cctvs pipeline's preprocessing entrypoint (named by its spec's `window` modality).

`standardise` scales one 16 x 16 grey window with the training windows' mean and spread, loading the
cached stage from the data directory on first use.
"""

from __future__ import annotations

import functools

import numpy as np

from rohe.core.config import Settings
from rohe.examples.cctvs.models import WindowScaler, ensure_models


@functools.lru_cache(maxsize=1)
def _scaler() -> WindowScaler:
    return ensure_models(Settings().data_dir).scaler


def standardise(sample: list[float]) -> list[float]:
    """One raw window (256 grey values, row by row) -> the standardised window the classifiers read."""
    return [float(x) for x in _scaler()(np.asarray(sample, dtype=np.float64))[0]]
