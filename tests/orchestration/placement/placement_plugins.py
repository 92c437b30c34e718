"""Placement plugins loaded by dotted path in the registry tests: one taking settings, one taking none."""

from __future__ import annotations

from collections.abc import Sequence

from rohe.core.config import OrchestrationSettings
from rohe.orchestration.placement import (
    ClusterState,
    FilterScoreAlgorithm,
    PlacementResult,
    ReplicaRequest,
    default_filters,
)
from rohe.orchestration.placement.filters import NodeCheckFilter
from rohe.orchestration.placement.state import Demand, FloatArray, IndexArray


class LastNodeFirst:
    """Places every replica on the last node that fits: the opposite of first-fit, easy to recognise."""

    name = "last-node-first"

    def __init__(self, settings: OrchestrationSettings) -> None:
        self.settings = settings

    def place(self, cluster: ClusterState, requests: Sequence[ReplicaRequest]) -> PlacementResult:
        algorithm = FilterScoreAlgorithm(self.name, _NodeIndex(), "max")
        return algorithm.place(cluster, requests)


class NoSettings:
    name = "no-settings"

    def __init__(self) -> None:
        self.inner = FilterScoreAlgorithm(self.name, None, "first", [*default_filters(), OddNodesOnly()])

    def place(self, cluster: ClusterState, requests: Sequence[ReplicaRequest]) -> PlacementResult:
        return self.inner.place(cluster, requests)


class OddNodesOnly(NodeCheckFilter):
    """A user filter written one node at a time."""

    name = "odd-nodes"
    reason = "even node"

    def check(self, state: ClusterState, node: int, demand: Demand) -> str | None:
        return None if node % 2 == 1 else self.reason


class _NodeIndex:
    name = "node-index"

    def score(self, state: ClusterState, node: int, demand: Demand) -> float:
        return float(node)

    def scores(self, state: ClusterState, nodes: IndexArray, demand: Demand) -> FloatArray:
        return nodes.astype(float)


class NotAnAlgorithm:
    def __init__(self) -> None:
        self.value = 1


def not_a_class() -> None:
    """A function, not a class: the registry must refuse it."""
