"""The bts pipeline's preprocessing entrypoint (named by its spec's `energy` modality).

`scale` standardises one raw week of hourly readings with the training series' mean and spread, loading
the cached scaler from the data directory on first use.
"""

from __future__ import annotations

import functools

import numpy as np

from rohe.core.config import Settings
from rohe.examples.bts.models import Scaler, ensure_models


@functools.lru_cache(maxsize=1)
def _scaler() -> Scaler:
    # Resolved once: reading the settings per request would cost more than the scaling itself.
    return ensure_models(Settings().data_dir).scaler


def scale(sample: list[float]) -> list[float]:
    """One raw window (168 hourly kWh readings, oldest first) -> the scaled window the forecasters read."""
    return [float(x) for x in _scaler()(np.asarray(sample, dtype=np.float64))[0]]
