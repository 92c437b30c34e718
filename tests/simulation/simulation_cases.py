"""Small catalogs, contracts and behaviour models the simulation tests share."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
from hypothesis import strategies as st

from rohe.core.contracts import ConsumerContract
from rohe.core.profiles import ModelProfile, ProfileCatalog
from rohe.simulation import (
    Failure,
    NodeCpu,
    ProfileConfusion,
    ProfileServiceTime,
    ServiceTimeModel,
    SimInstance,
    SimQuery,
    SimulationSetup,
)

CLASSES = (0, 1, 2, 3)


def catalog(models: Sequence[str] = ("fast", "slow"), p50_ms: float = 10.0, p99_ms: float = 30.0) -> ProfileCatalog:
    profiles = []
    for i, model in enumerate(models):
        accuracy = {c: 0.6 + 0.1 * ((i + c) % 4) for c in CLASSES}
        profiles.append(
            ModelProfile(
                model=model,
                node_type="edge",
                latency_p50_ms=p50_ms * (1 + i),
                latency_p99_ms=p99_ms * (1 + i),
                accuracy=sum(accuracy.values()) / len(accuracy),
                class_accuracy=accuracy,
                cost_per_request=1.0 + i,
            )
        )
    return ProfileCatalog.of(profiles)


def contract(deadline_ms: float = 500.0, ensemble: tuple[int, int] = (1, 2)) -> ConsumerContract:
    return ConsumerContract.model_validate(
        {
            "consumer": "test",
            "ensemble": {"min": ensemble[0], "max": ensemble[1]},
            "required_throughput": 1,
            "deadline_ms": deadline_ms,
            "objectives": [{"metric": "accuracy", "direction": "max", "min": 0, "max": 1}],
        }
    )


class Constant:
    """Every call needs exactly `demand_s` seconds of one core."""

    def __init__(self, demand_s: float) -> None:
        self.demand_s = demand_s

    def sample(self, model: str, node_type: str, rng: np.random.Generator) -> float:
        return self.demand_s


class Exponential:
    """Exponential service times with a fixed mean, one draw at a time (no sample_many)."""

    def __init__(self, mean_s: float) -> None:
        self.mean_s = mean_s

    def sample(self, model: str, node_type: str, rng: np.random.Generator) -> float:
        return float(rng.exponential(self.mean_s))


def setup(
    instances: Sequence[SimInstance],
    scheduler: str = "single-best",
    *,
    cat: ProfileCatalog | None = None,
    deadline_ms: float = 500.0,
    ensemble: tuple[int, int] = (1, 2),
    service_time: ServiceTimeModel | None = None,
    failures: Sequence[Failure] = (),
    seed: int = 0,
    queueing: bool = True,
    record_service: bool = False,
    aggregation: str = "majority",
    cpu: Mapping[str, NodeCpu] | None = None,
) -> SimulationSetup:
    cat = cat or catalog()
    return SimulationSetup(
        instances,
        contract(deadline_ms, ensemble),
        cat,
        scheduler,
        service_time or ProfileServiceTime(cat),
        ProfileConfusion(cat),
        failures=failures,
        seed=seed,
        queueing=queueing,
        record_service=record_service,
        aggregation=aggregation,
        cpu=cpu,
    )


def queries(times: Sequence[float] | npt.NDArray[np.float64]) -> list[SimQuery]:
    return [SimQuery(f"q{i}", float(t), CLASSES[i % len(CLASSES)]) for i, t in enumerate(times)]


# A small random cluster for the property tests: a few instances of three models on three nodes.
MODELS = ("a", "b", "c")
NODES = ("n1", "n2", "n3")
CAT = catalog(MODELS, p50_ms=20, p99_ms=60)

instances = st.lists(
    st.builds(
        SimInstance,
        model=st.sampled_from(MODELS),
        node=st.sampled_from(NODES),
        node_type=st.just("edge"),
        concurrency=st.integers(1, 3),
    ),
    min_size=1,
    max_size=6,
)
