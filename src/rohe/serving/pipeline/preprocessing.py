"""The preprocessing stage of one modality: an in-process function from one raw sample to model features."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from rohe.core.errors import InvalidInput, Problem
from rohe.core.plugins import import_dotted
from rohe.serving.pipeline.spec import PipelineSpec

Preprocess = Callable[[list[float]], Any]
"""Takes one sample (a flat list of numbers); returns the features (any flat sequence or 1-row array)."""


def resolve_entrypoint(path: str, location: str) -> Preprocess:
    function = import_dotted(path, location)
    if function is None or not callable(function):
        raise InvalidInput(
            "unknown preprocessing entrypoint",
            [Problem(location, f"{path!r} names no function", "give module:function of an installed module")],
        )
    preprocess: Preprocess = function
    return preprocess


def resolve_preprocessors(
    spec: PipelineSpec, overrides: Mapping[str, Preprocess] | None = None
) -> dict[str, Preprocess | None]:
    """Modality -> its preprocessing function: an override if given, else the spec's entrypoint, else none."""
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(spec.modality_names))
    if unknown:
        raise InvalidInput(
            "preprocessors for unknown modalities",
            [
                Problem(f"preprocessors.{m}", "is not a modality of the pipeline", f"use {spec.modality_names}")
                for m in unknown
            ],
        )
    resolved: dict[str, Preprocess | None] = {}
    for i, modality in enumerate(spec.modalities):
        if modality.name in overrides:
            resolved[modality.name] = overrides[modality.name]
        elif modality.preprocessing is not None:
            resolved[modality.name] = resolve_entrypoint(modality.preprocessing, f"modalities[{i}].preprocessing")
        else:
            resolved[modality.name] = None
    return resolved


def run_preprocessing(preprocess: Preprocess | None, sample: Sequence[float], modality: str) -> list[float]:
    """Apply the stage; a sample it rejects, or features that are not finite numbers, is the caller's input error."""
    raw = [float(x) for x in sample]
    if preprocess is None:
        return raw
    try:
        features = np.asarray(preprocess(raw), dtype=np.float64).reshape(-1)
    except InvalidInput as exc:
        raise InvalidInput(
            exc.message, [Problem(f"inputs.{modality}", p.message, p.hint) for p in exc.problems]
        ) from None
    except (ValueError, TypeError) as exc:
        raise InvalidInput(
            "preprocessing rejected the input",
            [Problem(f"inputs.{modality}", str(exc)[:300], "check the sample's length and values")],
        ) from None
    if features.size == 0 or not all(math.isfinite(x) for x in features.tolist()):
        raise InvalidInput(
            "preprocessing produced no usable features",
            [Problem(f"inputs.{modality}", "features are empty or not finite", "check the sample's values")],
        )
    return [float(x) for x in features.tolist()]
