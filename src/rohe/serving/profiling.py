"""Measuring a model on this machine: latency, throughput and quality against ground truth -> ModelProfile.

Latency is what one request costs: single-sample calls, one at a time, timed around `predict_proba` alone
(no HTTP), after a warm-up that lets caches and lazy initialisation settle. Throughput is what one replica
sustains when the data plane batches: the labelled set in batches of `batch_size`, the median of a few
rounds. Quality is judged against the labels only; confidence (the top probability) is
reported beside it and never stands in for it.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from rohe.core.errors import InvalidInput, Problem, ProblemCollector
from rohe.core.profiles import ModelProfile, ProfileCatalog, save_catalog
from rohe.serving.model_service import Predictor

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class Quality:
    """Accuracy and mean top-probability confidence, overall and per true class.

    `class_accuracy[c]` is the share of samples labelled c that the model classifies as c (recall);
    `class_confidence[c]` is the mean confidence of the model's answers on those samples. A class with no
    labelled sample has neither: its quality is unknown, not zero.
    """

    accuracy: float
    confidence: float
    class_accuracy: dict[int, float]
    class_confidence: dict[int, float]


def measure_quality(probabilities: FloatArray, classes: list[int], labels: IntArray) -> Quality:
    predicted = np.asarray(classes, dtype=np.int64)[np.argmax(probabilities, axis=1)]
    correct = predicted == labels
    # Sums of probabilities can exceed 1 by a rounding error; a profile holds fractions in [0, 1].
    confidence = np.clip(np.max(probabilities, axis=1), 0.0, 1.0)
    class_accuracy: dict[int, float] = {}
    class_confidence: dict[int, float] = {}
    for cls in sorted({*classes, *(int(label) for label in labels)}):
        members = labels == cls
        if np.any(members):
            class_accuracy[cls] = float(np.mean(correct[members]))
            class_confidence[cls] = float(np.mean(confidence[members]))
    return Quality(float(np.mean(correct)), float(np.mean(confidence)), class_accuracy, class_confidence)


def measure_latency_ms(
    predictor: Predictor, inputs: FloatArray, repeats: int, warmup: int
) -> tuple[float, float, float]:
    """p50, p95 and p99 of single-sample calls, cycling through the inputs."""
    for i in range(warmup):
        predictor.predict_proba(inputs[i % len(inputs) : i % len(inputs) + 1])
    times = np.empty(repeats)
    for i in range(repeats):
        sample = inputs[i % len(inputs) : i % len(inputs) + 1]
        started = time.perf_counter()
        predictor.predict_proba(sample)
        times[i] = (time.perf_counter() - started) * 1000
    # Interpolation rounding must not make p95 exceed p99: a profile rejects decreasing percentiles.
    p50, p95, p99 = np.maximum.accumulate(np.percentile(times, [50, 95, 99]))
    return float(p50), float(p95), float(p99)


def measure_throughput_rps(predictor: Predictor, inputs: FloatArray, batch_size: int, rounds: int) -> float:
    """Samples per second over the whole set in batches; the median round, so one hiccup does not decide."""
    durations = []
    for _ in range(rounds):
        started = time.perf_counter()
        for start in range(0, len(inputs), batch_size):
            predictor.predict_proba(inputs[start : start + batch_size])
        durations.append(time.perf_counter() - started)
    # A clock that did not tick is still a finite, positive throughput.
    return len(inputs) / max(statistics.median(durations), 1e-9)


def _check_inputs(
    inputs: FloatArray, labels: IntArray, repeats: int, warmup: int, batch_size: int, rounds: int
) -> tuple[FloatArray, IntArray]:
    problems = ProblemCollector()
    x = np.asarray(inputs, dtype=np.float64)
    y = np.asarray(labels)
    if x.ndim != 2 or x.shape[0] == 0:
        problems.add("inputs", f"got shape {list(x.shape)}", "give a non-empty (samples, features) array")
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        problems.add("labels", f"got shape {list(y.shape)} of {y.dtype}", "give one integer class id per sample")
    elif x.ndim == 2 and y.shape[0] != x.shape[0]:
        problems.add("labels", f"{y.shape[0]} labels for {x.shape[0]} inputs", "give one label per input")
    for name, value, least in (("repeats", repeats, 1), ("warmup", warmup, 0), ("batch_size", batch_size, 1)):
        if value < least:
            problems.add(name, f"is {value}", f"use {least} or more")
    if rounds < 1:
        problems.add("rounds", f"is {rounds}", "use 1 or more")
    problems.raise_if_any("cannot profile the model")
    return x, y.astype(np.int64)


def measure_profile(
    predictor: Predictor,
    inputs: FloatArray,
    labels: IntArray,
    node_type: str = "local",
    *,
    repeats: int = 200,
    warmup: int = 20,
    batch_size: int = 64,
    rounds: int = 3,
    price_per_second: float | None = None,
) -> ModelProfile:
    """Profile `predictor` on this machine, reported as node type `node_type`.

    With `price_per_second` (what one replica on this node type costs per second) the profile's
    `cost_base` is that price, the period being one second; without it cost stays unknown.
    """
    x, y = _check_inputs(inputs, labels, repeats, warmup, batch_size, rounds)
    if price_per_second is not None and not price_per_second >= 0:
        raise InvalidInput(
            "cannot profile the model",
            [Problem("price_per_second", f"is {price_per_second}", "give a price of 0 or more, or none")],
        )
    classes = [int(c) for c in predictor.classes]
    probabilities = np.asarray(predictor.predict_proba(x), dtype=np.float64)
    if probabilities.shape != (x.shape[0], len(classes)):
        raise InvalidInput(
            f"model {predictor.name} answers in the wrong shape",
            [
                Problem(
                    "predict_proba",
                    f"returned {list(probabilities.shape)} for {x.shape[0]} inputs and {len(classes)} classes",
                    "return one probability per class for every input",
                )
            ],
        )
    quality = measure_quality(probabilities, classes, y)
    p50, p95, p99 = measure_latency_ms(predictor, x, repeats, warmup)
    return ModelProfile(
        model=predictor.name,
        node_type=node_type,
        latency_p50_ms=p50,
        latency_p95_ms=p95,
        latency_p99_ms=p99,
        throughput_rps=measure_throughput_rps(predictor, x, batch_size, rounds),
        accuracy=quality.accuracy,
        confidence=quality.confidence,
        class_accuracy=quality.class_accuracy,
        class_confidence=quality.class_confidence,
        cost_base=price_per_second,
    )


def profile_models(
    predictors: Mapping[str, Predictor],
    inputs: FloatArray,
    labels: IntArray,
    node_type: str = "local",
    *,
    class_names: Mapping[int, str] | None = None,
    out: Path | None = None,
    repeats: int = 200,
    warmup: int = 20,
    batch_size: int = 64,
    rounds: int = 3,
    price_per_second: float | None = None,
) -> ProfileCatalog:
    """Profile every predictor on the same labelled set; with `out`, also write the catalog as rohe CSV."""
    profiles = [
        measure_profile(
            predictor,
            inputs,
            labels,
            node_type,
            repeats=repeats,
            warmup=warmup,
            batch_size=batch_size,
            rounds=rounds,
            price_per_second=price_per_second,
        )
        for predictor in predictors.values()
    ]
    catalog = ProfileCatalog.of(profiles, class_names)
    if out is not None:
        save_catalog(catalog, out)
    return catalog

