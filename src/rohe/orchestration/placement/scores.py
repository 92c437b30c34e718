"""Score plugins: how good a feasible node is for a replica, from what would be free AFTER placing it.

Like filters, each score has a one-node form (`score`) and an all-candidates form (`scores`). Both run
the same float operations in the same order, so they agree exactly and ties break the same way.

Fractions are 0 on a node whose capacity of that resource is 0 (nothing to rank it by).
"""

from __future__ import annotations

from typing import Protocol, TypeVar, runtime_checkable

import numpy as np

from rohe.core.config import OrchestrationSettings, Weights
from rohe.core.domain import Sensitivity
from rohe.orchestration.placement.state import ClusterState, Demand, FloatArray, IndexArray, IntArray


@runtime_checkable
class Scorer(Protocol):
    name: str

    def score(self, state: ClusterState, node: int, demand: Demand) -> float: ...

    def scores(self, state: ClusterState, nodes: IndexArray, demand: Demand) -> FloatArray: ...


Amount = TypeVar("Amount", int, IntArray)


def _fraction(numerator: int, capacity: int) -> float:
    return numerator / capacity if capacity > 0 else 0.0


def _fractions(numerator: IntArray, capacity: IntArray) -> FloatArray:
    # The same quotients, bit for bit, as `_fraction`; the masked form only where some capacity is 0.
    if capacity.all():
        quotient: FloatArray = numerator / capacity
        return quotient
    result: FloatArray = np.divide(
        numerator, capacity, out=np.zeros(capacity.shape, dtype=np.float64), where=capacity > 0
    )
    return result


class RoheScore:
    """ROHE's score: the weighted mean of the CPU and memory fractions left free after placement.

        w_c = weights.cpu    * (1 + boost if the service is CPU-sensitive    else 1)
        w_m = weights.memory * (1 + boost if the service is memory-sensitive else 1)
        score = (w_c * (free_cpu - d_cpu) / cap_cpu + w_m * (free_rss - d_rss) / cap_rss) / (w_c + w_m)

    High means much left free. With both weights 0 every node scores 0.
    """

    name = "rohe"
    row_local = True  # a node's score reads only that node (candidates.py)

    def __init__(self, settings: OrchestrationSettings) -> None:
        self.weights = settings.weights
        self.boost = settings.sensitivity_boost
        self._by_sensitivity: dict[Sensitivity, tuple[float, float]] = {}

    def _weights(self, demand: Demand) -> tuple[float, float]:
        # worked out once per sensitivity: this runs for every scored node
        weights = self._by_sensitivity.get(demand.sensitivity)
        if weights is None:
            cpu = self.weights.cpu * ((1 + self.boost) if demand.sensitivity.cpu else 1)
            memory = self.weights.memory * ((1 + self.boost) if demand.sensitivity.memory else 1)
            weights = self._by_sensitivity[demand.sensitivity] = (cpu, memory)
        return weights

    def score(self, state: ClusterState, node: int, demand: Demand) -> float:
        w_c, w_m = self._weights(demand)
        if w_c + w_m <= 0:
            return 0.0
        cpu = _fraction(int(state.cpu_free[node]) - demand.cpu, int(state.cpu_cap[node]))
        memory = _fraction(int(state.rss_free[node]) - demand.rss, int(state.rss_cap[node]))
        return (w_c * cpu + w_m * memory) / (w_c + w_m)

    def scores(self, state: ClusterState, nodes: IndexArray, demand: Demand) -> FloatArray:
        w_c, w_m = self._weights(demand)
        if w_c + w_m <= 0:
            return np.zeros(nodes.size, dtype=np.float64)
        cpu = _fractions(state.cpu_free[nodes] - demand.cpu, state.cpu_cap[nodes])
        memory = _fractions(state.rss_free[nodes] - demand.rss, state.rss_cap[nodes])
        result: FloatArray = (w_c * cpu + w_m * memory) / (w_c + w_m)
        return result


class _KubernetesFit:
    """NodeResourcesFit: per resource a 0..100 score, then the weighted mean over CPU and memory."""

    name = "kubernetes-fit"
    row_local = True  # a node's score reads only that node (candidates.py)

    def __init__(self, weights: Weights) -> None:
        self.weights = weights

    def _numerator(self, free: Amount, cap: Amount, need: int) -> Amount:
        raise NotImplementedError

    def score(self, state: ClusterState, node: int, demand: Demand) -> float:
        w_c, w_m = self.weights.cpu, self.weights.memory
        if w_c + w_m <= 0:
            return 0.0
        cpu_cap, rss_cap = int(state.cpu_cap[node]), int(state.rss_cap[node])
        cpu = _fraction(self._numerator(int(state.cpu_free[node]), cpu_cap, demand.cpu), cpu_cap) * 100
        memory = _fraction(self._numerator(int(state.rss_free[node]), rss_cap, demand.rss), rss_cap) * 100
        return (w_c * cpu + w_m * memory) / (w_c + w_m)

    def scores(self, state: ClusterState, nodes: IndexArray, demand: Demand) -> FloatArray:
        w_c, w_m = self.weights.cpu, self.weights.memory
        if w_c + w_m <= 0:
            return np.zeros(nodes.size, dtype=np.float64)
        cpu_cap, rss_cap = state.cpu_cap[nodes], state.rss_cap[nodes]
        cpu = _fractions(self._numerator(state.cpu_free[nodes], cpu_cap, demand.cpu), cpu_cap) * 100
        memory = _fractions(self._numerator(state.rss_free[nodes], rss_cap, demand.rss), rss_cap) * 100
        result: FloatArray = (w_c * cpu + w_m * memory) / (w_c + w_m)
        return result


class LeastAllocated(_KubernetesFit):
    """Prefers the node left with the most free: spreads load (Kubernetes' default)."""

    name = "least-allocated"

    def _numerator(self, free: Amount, cap: Amount, need: int) -> Amount:
        return free - need


class MostAllocated(_KubernetesFit):
    """Prefers the node left fullest: packs replicas onto few nodes."""

    name = "most-allocated"

    def _numerator(self, free: Amount, cap: Amount, need: int) -> Amount:
        return cap - free + need


class BalancedAllocation:
    """NodeResourcesBalancedAllocation: prefers nodes whose CPU and memory fill up evenly.

    score = (1 - std(used_cpu / cap_cpu, used_rss / cap_rss)) * 100, fractions capped at 1; for two
    values the standard deviation is half their difference.
    """

    name = "balanced"
    row_local = True  # a node's score reads only that node (candidates.py)

    def score(self, state: ClusterState, node: int, demand: Demand) -> float:
        cpu_cap, rss_cap = int(state.cpu_cap[node]), int(state.rss_cap[node])
        cpu = min(_fraction(cpu_cap - int(state.cpu_free[node]) + demand.cpu, cpu_cap), 1.0)
        memory = min(_fraction(rss_cap - int(state.rss_free[node]) + demand.rss, rss_cap), 1.0)
        return (1.0 - abs(cpu - memory) / 2) * 100

    def scores(self, state: ClusterState, nodes: IndexArray, demand: Demand) -> FloatArray:
        cpu_cap, rss_cap = state.cpu_cap[nodes], state.rss_cap[nodes]
        cpu = np.minimum(_fractions(cpu_cap - state.cpu_free[nodes] + demand.cpu, cpu_cap), 1.0)
        memory = np.minimum(_fractions(rss_cap - state.rss_free[nodes] + demand.rss, rss_cap), 1.0)
        result: FloatArray = (1.0 - np.abs(cpu - memory) / 2) * 100
        return result
