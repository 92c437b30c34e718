"""What algorithms are given and what they return, and the wording of "why not placed"."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol, runtime_checkable

from rohe.core.domain import Allocation, Service
from rohe.orchestration.placement.state import ClusterState

ReplicaKey = tuple[str, int]


@dataclass(frozen=True)
class ReplicaRequest:
    """One replica to place: its service and its index among the service's replicas."""

    service: Service
    index: int

    @property
    def key(self) -> ReplicaKey:
        return (self.service.name, self.index)


class Decision(NamedTuple):
    """Why a replica went where it went: enough for `rohe orchestration plan` to explain itself.

    `score` is the chosen node's score under the algorithm's score plugin (None when it has none),
    `feasible_nodes` how many nodes passed every filter, `seconds` the time the decision took.
    A named tuple, not a dataclass: one is made per replica, and a tuple of plain values is cheaper to
    build and is not tracked by the garbage collector.
    """

    node: str | None
    score: float | None
    feasible_nodes: int
    seconds: float


@dataclass(frozen=True)
class Bound:
    """What CP-SAT proved: at most `placed_at_most` of the replicas fit; objective vs best bound and their gap.

    The objective is (new nodes possible + 1) x placed - new nodes opened, so one more placed replica always
    outweighs the nodes; `gap` is (best_bound - objective) / |best_bound|, 0 when proven optimal.
    """

    placed_at_most: int
    objective: float
    best_bound: float
    gap: float


@dataclass
class PlacementResult:
    algorithm: str
    placed: dict[ReplicaKey, Allocation] = field(default_factory=dict)
    unplaced: dict[ReplicaKey, str] = field(default_factory=dict)
    proven_optimal: bool | None = None
    # exact solvers: what they proved about the best possible answer
    bound: Bound | None = None
    decisions: dict[ReplicaKey, Decision] = field(default_factory=dict)

    @property
    def allocations(self) -> list[Allocation]:
        return list(self.placed.values())


@runtime_checkable
class PlacementAlgorithm(Protocol):
    name: str

    def place(self, cluster: ClusterState, requests: Sequence[ReplicaRequest]) -> PlacementResult:
        """Place `requests` on `cluster`, applying every placement to it."""
        ...


def unavailable_reason(total_nodes: int, counts: Counter[str]) -> str:
    """The Kubernetes scheduler's wording: every node counted once, under the first filter it failed.

    Most frequent reason first; equal counts in alphabetical order, so the text never depends on the
    order nodes were examined in.
    """
    if total_nodes == 0:
        return "0/0 nodes are available: no nodes registered."
    parts = [f"{count} {reason}" for reason, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    return f"0/{total_nodes} nodes are available: {', '.join(parts)}."
