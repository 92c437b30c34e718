"""The example's pipeline spec (generic format in rohe.serving.pipeline) and its preprocessing entrypoint.

`standardise` is what the spec's `image` modality names: it scales one 8x8 frame with the training set's
mean and spread, loading the cached preprocessor from the data directory on first use.
"""

from __future__ import annotations

import functools

import numpy as np

from rohe.core.config import Settings
from rohe.examples.object_classification.dataset import Preprocessor, preprocess
from rohe.examples.object_classification.models import ensure_models
from rohe.serving.pipeline.spec import Modality, PipelineSpec, Stage, load_pipeline, parse_pipeline


@functools.lru_cache(maxsize=1)
def _preprocessor() -> Preprocessor:
    # Resolved once: reading the settings per frame would cost more than the scaling itself.
    return ensure_models(Settings().data_dir).preprocessor


def standardise(sample: list[float]) -> list[float]:
    """One raw frame (64 pixel values, 0-16) -> the standardised features the example models read."""
    scaled = preprocess(_preprocessor(), np.asarray(sample, dtype=np.float64))
    return [float(x) for x in scaled[0]]


__all__ = ["Modality", "PipelineSpec", "Stage", "load_pipeline", "parse_pipeline", "standardise"]
