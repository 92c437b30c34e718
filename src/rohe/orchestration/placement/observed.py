"""The `observed-load` score: rank nodes by what is actually busy, not only by what replicas requested.

Requested capacity says a node is half free; the observation store may say its replicas burn all of it. The
score takes, per node, the larger of the requested and the observed CPU in use, so a node whose replicas
exceed their requests looks as full as it is:

    used      = max(cap_cpu - free_cpu, observed_cores * 1000)
    score     = (cap_cpu - used - d_cpu) / cap_cpu  +  bonus if the node's type is preferred for the service

Select `max`: the node left with most really-free CPU wins; `bonus` (default 1, more than any free fraction)
puts every preferred node type (from contract-derived requirements) ahead of the others. Observed load comes
in at construction (a snapshot per placement round), so the score itself stays pure and deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from rohe.orchestration.placement.framework import FilterScoreAlgorithm
from rohe.orchestration.placement.state import ClusterState, Demand, FloatArray, IndexArray
from rohe.orchestration.scaling import node_type_of

NAME = "observed-load"


class ObservedLoad:
    name = NAME

    def __init__(
        self,
        observed_cores: Mapping[str, float],
        preferred: Mapping[str, tuple[str, ...]] | None = None,
        bonus: float = 1.0,
    ) -> None:
        self.observed_cores = dict(observed_cores)
        self.preferred = {service: set(types) for service, types in (preferred or {}).items()}
        self.bonus = bonus

    def _observed(self, state: ClusterState) -> FloatArray:
        return np.array([self.observed_cores.get(name, 0.0) * 1000.0 for name in state.names], dtype=np.float64)

    def _bonus(self, state: ClusterState, demand: Demand) -> FloatArray:
        wanted = self.preferred.get(demand.service)
        if not wanted:
            return np.zeros(state.node_count, dtype=np.float64)
        return np.array([self.bonus if node_type_of(n) in wanted else 0.0 for n in state.nodes], dtype=np.float64)

    def scores(self, state: ClusterState, nodes: IndexArray, demand: Demand) -> FloatArray:
        cap = state.cpu_cap[nodes].astype(np.float64)
        used = np.maximum(cap - state.cpu_free[nodes], self._observed(state)[nodes])
        safe = np.where(cap > 0, cap, 1.0)
        free: FloatArray = np.where(cap > 0, (cap - used - demand.cpu) / safe, 0.0)
        result: FloatArray = free + self._bonus(state, demand)[nodes]
        return result

    def score(self, state: ClusterState, node: int, demand: Demand) -> float:
        return float(self.scores(state, np.array([node], dtype=np.intp), demand)[0])


def observed_load_algorithm(
    observed_cores: Mapping[str, float], preferred: Mapping[str, tuple[str, ...]] | None = None
) -> FilterScoreAlgorithm:
    """The default filters with the observed-load score, most really-free node first."""
    return FilterScoreAlgorithm(NAME, ObservedLoad(observed_cores, preferred), "max")
