"""Hand-made catalogs and contracts for the scheduler tests."""

from __future__ import annotations

from typing import Any

import numpy as np

from rohe.core.contracts import ConsumerContract
from rohe.core.profiles import ModelProfile, ProfileCatalog
from rohe.serving.dataplane import MemberPrediction
from rohe.serving.scheduling import PreparedConsumer, RequestContext, prepare


def contract(low: int = 1, high: int = 3, **extra: Any) -> ConsumerContract:
    return ConsumerContract.model_validate(
        {
            "consumer": "cam",
            "ensemble": {"min": low, "max": high},
            "required_throughput": 1,
            "objectives": [{"metric": "accuracy", "direction": "maximize", "min": 0, "max": 1}],
            **extra,
        }
    )


def profile(model: str, p50: float, p99: float, accuracy: float, cost: float = 1.0, **extra: Any) -> ModelProfile:
    return ModelProfile(
        model=model,
        node_type=extra.pop("node_type", "gpu"),
        latency_p50_ms=p50,
        latency_p99_ms=p99,
        accuracy=accuracy,
        cost_per_request=cost,
        **extra,
    )


def zoo() -> ProfileCatalog:
    """Five models on one node type; class 0 and class 1 each have one clear specialist."""
    return ProfileCatalog.of(
        [
            profile("tiny", 2, 5, 0.60, cost=0.1, class_accuracy={0: 0.6, 1: 0.6, 2: 0.6}),
            profile("small", 5, 10, 0.70, cost=0.2, class_accuracy={0: 0.7, 1: 0.7, 2: 0.7}),
            profile("cat-expert", 10, 30, 0.75, cost=1.0, class_accuracy={0: 0.99, 1: 0.5, 2: 0.7}),
            profile("dog-expert", 12, 40, 0.74, cost=1.0, class_accuracy={0: 0.5, 1: 0.98, 2: 0.7}),
            profile("huge", 60, 120, 0.90, cost=5.0, class_accuracy={0: 0.9, 1: 0.9, 2: 0.9}),
        ]
    )


def request(consumer: PreparedConsumer, remaining_ms: float, seed: int = 0, **extra: Any) -> RequestContext:
    return RequestContext(consumer, remaining_ms, np.random.default_rng(seed), **extra)


def prepared(low: int = 1, high: int = 3, **extra: Any) -> PreparedConsumer:
    return prepare(contract(low, high, **extra), zoo())


def said(model: str, probabilities: tuple[float, ...]) -> MemberPrediction:
    best = max(range(len(probabilities)), key=lambda i: probabilities[i])
    return MemberPrediction(model, probabilities, best, probabilities[best])
