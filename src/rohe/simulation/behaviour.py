"""What a model does to one request in simulation: how long it works, and what it predicts.

Both are interfaces so traces can replace profiles (the experiments package calibrates its own). The profile
based defaults:
- `ProfileServiceTime`: a lognormal per model x node type with median p50 and 99th percentile p99 (p95 when
  p99 is unknown). It is the time of the work alone; waiting for a free slot comes from the simulation's
  queues, never from the profile. A profile with a single known percentile gives a constant time; one with
  no latency but a throughput (ROHE's feature tables) gives a constant 1 / throughput, the time one replica
  spends per request when it sustains that rate.
- `ProfileConfusion`: the right class with the model's profiled accuracy on the true class (its overall
  accuracy when that class was not profiled), otherwise a uniformly drawn wrong class. The predicted class
  carries the profiled confidence for that class and the rest of the mass is spread evenly over the other
  catalog classes, so the predicted class is always the argmax.

Probability vectors follow the data plane's convention: index i is class id i, so a vector has
max(class id) + 1 entries and ids the catalog does not know get probability 0.
"""

from __future__ import annotations

import math
import warnings
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from rohe.core.errors import InvalidInput, Problem
from rohe.core.profiles import Metric, ProfileCatalog

FloatArray = npt.NDArray[np.float64]

# Standard normal quantiles of the percentiles profiles report.
Z_P99 = 2.3263478740408408
Z_P95 = 1.6448536269514722
DEFAULT_CONFIDENCE = 0.8
UNIFORM_BLOCK = 1024
_PERCENTILES = (Metric.LATENCY_P50_MS, Metric.LATENCY_P95_MS, Metric.LATENCY_P99_MS)


@runtime_checkable
class ServiceTimeModel(Protocol):
    def sample(self, model: str, node_type: str, rng: np.random.Generator) -> float:
        """Seconds of work for one request of `model` on `node_type`, without any queueing."""
        ...


@runtime_checkable
class PredictionModel(Protocol):
    def predict(self, model: str, true_class: int, rng: np.random.Generator) -> FloatArray:
        """Class-probability vector (index = class id) `model` returns for an input of `true_class`."""
        ...


def lognormal_from_percentiles(p50_s: float, upper_s: float, z: float) -> tuple[float, float]:
    """(mu, sigma) of the lognormal whose median is `p50_s` and whose z-quantile is `upper_s`."""
    if not (p50_s > 0 and math.isfinite(p50_s)):
        raise ValueError(f"median must be a positive number, got {p50_s}")
    sigma = max(0.0, (math.log(upper_s) - math.log(p50_s)) / z) if upper_s > 0 else 0.0
    return math.log(p50_s), sigma


class ProfileServiceTime:
    """Service times drawn from a lognormal fitted to each profile's p50 and p99 (see the module docstring)."""

    def __init__(self, catalog: ProfileCatalog) -> None:
        self.catalog = catalog
        self._params: dict[tuple[str, str], tuple[float, float]] = {}
        values = catalog.values
        for m, model in enumerate(catalog.models):
            for n, node_type in enumerate(catalog.node_types):
                if not catalog.available[m, n]:
                    continue
                p50, p95, p99 = (float(values[m, n, k]) for k in _PERCENTILES)
                fitted = _fit(p50, p95, p99, float(values[m, n, Metric.THROUGHPUT_RPS]))
                if fitted is not None:
                    self._params[(model, node_type)] = fitted

    def params(self, model: str, node_type: str) -> tuple[float, float]:
        """(mu, sigma) of log-seconds; InvalidInput when the pair has no usable latency profile."""
        try:
            return self._params[(model, node_type)]
        except KeyError:
            raise InvalidInput(
                "no latency profile to simulate",
                [
                    Problem(
                        f"profiles[{model}@{node_type}].latency_p50_ms",
                        f"{model} on {node_type} has no profiled latency",
                        "profile the model on that node type, or place it on a profiled one",
                    )
                ],
            ) from None

    def sample(self, model: str, node_type: str, rng: np.random.Generator) -> float:
        mu, sigma = self.params(model, node_type)
        return math.exp(mu + sigma * float(rng.standard_normal()))

    def sample_many(self, model: str, node_type: str, count: int, rng: np.random.Generator) -> FloatArray:
        """`count` draws at once; the simulator uses it to fill per-instance buffers (same distribution)."""
        mu, sigma = self.params(model, node_type)
        return np.exp(mu + sigma * rng.standard_normal(count))


def _fit(p50: float, p95: float, p99: float, throughput: float) -> tuple[float, float] | None:
    ms = 1000.0
    if math.isfinite(p50) and p50 > 0:
        if math.isfinite(p99) and p99 > 0:
            return lognormal_from_percentiles(p50 / ms, p99 / ms, Z_P99)
        if math.isfinite(p95) and p95 > 0:
            return lognormal_from_percentiles(p50 / ms, p95 / ms, Z_P95)
        return math.log(p50 / ms), 0.0
    for upper in (p99, p95):
        if math.isfinite(upper) and upper > 0:
            return math.log(upper / ms), 0.0  # only a tail is known: assume it, which errs on the slow side
    if math.isfinite(throughput) and throughput > 0:
        return -math.log(throughput), 0.0
    return None


class ProfileConfusion:
    """Predictions from per-class accuracy and confidence (averaged over the node types a model was profiled
    on, since quality barely depends on hardware); see the module docstring for the exact draw."""

    def __init__(self, catalog: ProfileCatalog) -> None:
        if not catalog.class_ids:
            raise InvalidInput(
                "profiles name no classes",
                [Problem("profiles.class_accuracy", "is empty for every model", "profile per-class accuracy")],
            )
        self.catalog = catalog
        self.class_ids = catalog.class_ids
        self.width = max(catalog.class_ids) + 1
        self._position = {c: i for i, c in enumerate(catalog.class_ids)}
        self._accuracy: dict[str, FloatArray] = {}
        self._accuracy_lists: dict[str, list[float]] = {}
        self._others = len(self.class_ids) - 1
        self._block: list[float] = []
        self._block_rng: np.random.Generator | None = None
        self._vectors: dict[str, list[FloatArray]] = {}
        for m, model in enumerate(catalog.models):
            accuracy = self._class_accuracy(m)
            if accuracy is None:
                continue  # no accuracy at all: predicting for it is an error, naming the model (see _table)
            self._accuracy[model] = accuracy
            self._accuracy_lists[model] = accuracy.tolist()
            confidence = self._class_confidence(m)
            self._vectors[model] = [self._vector(c, confidence[i]) for i, c in enumerate(self.class_ids)]

    def _means(self, m: int, per_class_table: FloatArray, overall: Metric) -> tuple[FloatArray, float]:
        """Per-class and overall means over the node types model `m` was profiled on (NaN where unknown)."""
        rows = self.catalog.available[m]
        per_class = per_class_table[m][rows]
        values = self.catalog.values[m, rows, overall]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # "mean of empty slice": NaN is handled below
            mean_class = np.nanmean(per_class, axis=0)
            mean_overall = float(np.nanmean(values))
        return np.asarray(mean_class, dtype=np.float64), mean_overall

    def _class_accuracy(self, m: int) -> FloatArray | None:
        mean_class, mean_overall = self._means(m, self.catalog.class_accuracy, Metric.ACCURACY)
        result = np.where(np.isnan(mean_class), mean_overall, mean_class)
        return None if np.isnan(result).any() else np.asarray(result, dtype=np.float64)

    def _class_confidence(self, m: int) -> FloatArray:
        mean_class, mean_overall = self._means(m, self.catalog.class_confidence, Metric.CONFIDENCE)
        fallback = DEFAULT_CONFIDENCE if math.isnan(mean_overall) else mean_overall
        return np.asarray(np.where(np.isnan(mean_class), fallback, mean_class), dtype=np.float64)

    def _vector(self, predicted: int, confidence: float) -> FloatArray:
        others = len(self.class_ids) - 1
        vector = np.zeros(self.width)
        if others == 0:
            vector[predicted] = 1.0
        else:
            # Strictly above an even split, so the predicted class stays the argmax.
            top = min(1.0, max(confidence, 1.0 / len(self.class_ids) + 1e-6))
            for c in self.class_ids:
                vector[c] = (1.0 - top) / others
            vector[predicted] = top
        vector.setflags(write=False)
        return vector

    def accuracy(self, model: str, true_class: int) -> float:
        return float(self._table(model)[self._class(true_class)])

    def _table(self, model: str) -> FloatArray:
        try:
            return self._accuracy[model]
        except KeyError:
            if model in self.catalog.models:
                problem = Problem(
                    f"profiles[{model}].accuracy", "is unknown", "profile the model against labelled data"
                )
            else:
                problem = Problem(f"models.{model}", "has no profile", f"use one of: {', '.join(self.catalog.models)}")
            raise InvalidInput("no accuracy to simulate predictions from", [problem]) from None

    def _class(self, true_class: int) -> int:
        position = self._position.get(true_class)
        if position is None:
            raise InvalidInput(
                "unknown true class",
                [Problem("true_class", f"{true_class} is not in the catalog", f"use one of {list(self.class_ids)}")],
            )
        return position

    def predict(self, model: str, true_class: int, rng: np.random.Generator) -> FloatArray:
        accuracy = self._accuracy_lists.get(model)
        position = self._position.get(true_class)
        if accuracy is None:
            self._table(model)  # raises, naming the model
        if position is None:
            position = self._class(true_class)  # raises, naming the class
        assert accuracy is not None
        predicted = position
        if self._uniform(rng) >= accuracy[position] and self._others:
            # A uniformly drawn wrong class: draw among the others, skipping the true position.
            wrong = int(self._uniform(rng) * self._others)
            predicted = wrong + (wrong >= position)
        return self._vectors[model][predicted]

    def _uniform(self, rng: np.random.Generator) -> float:
        """The next uniform of `rng`, drawn in blocks (one NumPy call per block instead of per prediction).

        A block belongs to one generator; passing another one starts a fresh block from it, so the draws
        depend only on the generators and the order of calls.
        """
        if rng is not self._block_rng or not self._block:
            self._block_rng = rng
            self._block = rng.random(UNIFORM_BLOCK).tolist()[::-1]
        return self._block.pop()
