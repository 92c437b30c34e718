"""Adapters from a framework's model to one shape: a batch of inputs in, class probabilities out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray


class Predictor(Protocol):
    name: str
    n_features: int | None
    classes: Sequence[int]

    def predict_proba(self, batch: NDArray[np.float64]) -> NDArray[np.float64]: ...


@dataclass
class CallablePredictor:
    name: str
    function: Callable[[NDArray[np.float64]], Any]
    classes: Sequence[int]
    n_features: int | None = None

    def predict_proba(self, batch: NDArray[np.float64]) -> NDArray[np.float64]:
        result = np.asarray(self.function(batch), dtype=np.float64)
        if result.shape != (batch.shape[0], len(self.classes)):
            raise ValueError(
                f"{self.name}: predict function returned shape {result.shape}, "
                f"expected {(batch.shape[0], len(self.classes))}"
            )
        return result


def from_callable(
    name: str, function: Callable[[NDArray[np.float64]], Any], classes: Sequence[int], n_features: int | None = None
) -> CallablePredictor:
    """Any function from a (batch, features) array to (batch, classes) probabilities, e.g. a PyTorch module
    with its softmax (ONNX models have `from_onnx`)."""
    return CallablePredictor(name, function, list(classes), n_features)


def from_sklearn(name: str, estimator: Any) -> CallablePredictor:
    """A fitted scikit-learn classifier (or pipeline) with predict_proba."""
    if not hasattr(estimator, "predict_proba"):
        raise TypeError(f"{name}: the estimator has no predict_proba; fit it with probability support")
    classes = [int(c) for c in estimator.classes_]
    n_features = getattr(estimator, "n_features_in_", None)
    return CallablePredictor(name, estimator.predict_proba, classes, int(n_features) if n_features else None)
