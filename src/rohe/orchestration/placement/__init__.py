"""Placement: which node each replica goes on, by pluggable filter/score algorithms or an exact solver.

See docs/placement.md for the semantics, the algorithms and how to add one.
"""

from rohe.orchestration.placement.filters import Filter, NodeCheckFilter, default_filters
from rohe.orchestration.placement.framework import FilterScoreAlgorithm, Select
from rohe.orchestration.placement.optimal import OptimalAlgorithm
from rohe.orchestration.placement.registry import available_algorithms, get_algorithm
from rohe.orchestration.placement.result import (
    Bound,
    Decision,
    PlacementAlgorithm,
    PlacementResult,
    ReplicaRequest,
    unavailable_reason,
)
from rohe.orchestration.placement.scores import (
    BalancedAllocation,
    LeastAllocated,
    MostAllocated,
    RoheScore,
    Scorer,
)
from rohe.orchestration.placement.state import ClusterState, Demand, NodeFree

__all__ = [
    "BalancedAllocation",
    "Bound",
    "ClusterState",
    "Decision",
    "Demand",
    "Filter",
    "FilterScoreAlgorithm",
    "LeastAllocated",
    "MostAllocated",
    "NodeCheckFilter",
    "NodeFree",
    "OptimalAlgorithm",
    "PlacementAlgorithm",
    "PlacementResult",
    "ReplicaRequest",
    "RoheScore",
    "Scorer",
    "Select",
    "available_algorithms",
    "default_filters",
    "get_algorithm",
    "unavailable_reason",
]
