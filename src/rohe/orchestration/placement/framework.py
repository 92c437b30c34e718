"""Filter -> Score -> Select, composed into an algorithm, in the spirit of the kube-scheduler framework.

For each request in order: every filter prunes nodes, the scorer ranks the survivors, the select step
picks one (`first` feasible, `min` or `max` score; ties go to the earlier node), and the placement is
applied to the cluster before the next request is looked at.

Two interchangeable paths run this: the vectorised one (default) evaluates each filter for all nodes at
once with NumPy; the reference one (`vectorised=False`) walks nodes one by one and is the readable
statement of the semantics. Both must choose the same node; the property tests check that they do.
When every plugin is row-local the vectorised path keeps each service's verdicts between its replicas
and re-checks only the nodes that changed (candidates.py).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np

from rohe.orchestration.placement.candidates import Candidates, is_row_local
from rohe.orchestration.placement.filters import Filter, default_filters
from rohe.orchestration.placement.result import (
    Decision,
    PlacementResult,
    ReplicaKey,
    ReplicaRequest,
    unavailable_reason,
)
from rohe.orchestration.placement.scores import Scorer
from rohe.orchestration.placement.state import BoolArray, ClusterState, Demand, IndexArray

Select = Literal["first", "min", "max"]


def passing_nodes(filters: Sequence[Filter], cluster: ClusterState, demand: Demand) -> IndexArray:
    """Indices of the nodes that pass every filter, in registration order."""
    mask: BoolArray | None = None
    for rule in filters:
        passing = rule.mask(cluster, demand)
        if passing is not None:
            mask = passing if mask is None else mask & passing
    if mask is None:
        return np.arange(cluster.node_count, dtype=np.intp)
    return np.flatnonzero(mask)


def explain_unavailable(filters: Sequence[Filter], cluster: ClusterState, demand: Demand) -> str:
    """The "0/N nodes are available: ..." text, each node counted under the first filter it fails."""
    counts: Counter[str] = Counter()
    remaining = np.ones(cluster.node_count, dtype=np.bool_)
    for rule in filters:
        passing = rule.mask(cluster, demand)
        if passing is None:
            continue
        counts += rule.explain(cluster, demand, np.flatnonzero(remaining & ~passing))
        remaining = remaining & passing
    return unavailable_reason(cluster.node_count, counts)


class FilterScoreAlgorithm:
    """A heuristic built from plugins; construct one with your own filters or scorer to add an algorithm."""

    def __init__(
        self,
        name: str,
        scorer: Scorer | None,
        select: Select,
        filters: Sequence[Filter] | None = None,
        *,
        vectorised: bool = True,
    ) -> None:
        if select != "first" and scorer is None:
            raise ValueError(f"select '{select}' needs a scorer")
        self.name = name
        self.scorer = scorer
        self.select: Select = select
        self.filters: list[Filter] = list(filters) if filters is not None else default_filters()
        self.vectorised = vectorised

    def place(self, cluster: ClusterState, requests: Sequence[ReplicaRequest]) -> PlacementResult:
        result = PlacementResult(algorithm=self.name)
        # A demand that fits nowhere still fits nowhere while the cluster is unchanged: keep its reason.
        # (Placing only ever takes capacity, so the verdict could be reused longer; the reason text could not.)
        known_unplaceable: dict[str, tuple[Demand, int, str]] = {}
        decide = self._decider()
        # allocations are built after the loop: the loop only does what the next decision depends on
        # (parallel lists rather than a tuple per replica: fewer objects for the garbage collector to trace)
        placed_keys: list[ReplicaKey] = []
        placed_demands: list[Demand] = []
        placed_nodes: list[int] = []
        placed_cores: list[dict[int, int]] = []
        service, demand = None, None
        for request in requests:
            started = time.perf_counter()
            key = request.key
            if request.service is not service:  # replicas of one service usually come one after another
                service, demand = request.service, cluster.demand_of(request.service)
            assert demand is not None
            cached = known_unplaceable.get(demand.service)
            if cached is not None and cached[0] is demand and cached[1] == cluster.version:
                node, score, feasible, reason = None, None, 0, cached[2]
            else:
                node, score, feasible, reason = decide(cluster, demand)
            if node is None:
                known_unplaceable[demand.service] = (demand, cluster.version, reason)
                result.unplaced[key] = reason
            else:
                placed_keys.append(key)
                placed_demands.append(demand)
                placed_nodes.append(node)
                placed_cores.append(cluster.take(demand, node))
            result.decisions[key] = Decision(
                cluster.names[node] if node is not None else None, score, feasible, time.perf_counter() - started
            )
        for placed_key, placed_demand, placed_node, cores in zip(
            placed_keys, placed_demands, placed_nodes, placed_cores, strict=True
        ):
            result.placed[placed_key] = cluster.allocation_of(placed_demand, placed_node, cores)
        return result

    def _decider(self) -> Callable[[ClusterState, Demand], tuple[int | None, float | None, int, str]]:
        """The decision function for one round: incremental where the plugins allow it (candidates.py)."""
        if not self.vectorised:
            return self._decide_reference
        overridden = type(self)._decide_vectorised is not FilterScoreAlgorithm._decide_vectorised
        if overridden or not is_row_local(self.filters, self.scorer):
            return self._decide_vectorised
        candidates = Candidates(self.filters, self.scorer, self.select)

        def decide(cluster: ClusterState, demand: Demand) -> tuple[int | None, float | None, int, str]:
            view, rows = candidates.filter(cluster, demand)
            candidates.score(view, rows)
            node = candidates.select(view)
            if node is None:
                return None, None, 0, explain_unavailable(self.filters, cluster, demand)
            if view.keyed is not None:
                score: float | None = float(view.keyed[node])
            else:
                score = self.scorer.score(cluster, node, demand) if self.scorer is not None else None
            return node, score, view.count, ""

        return decide

    # -- the fast path -------------------------------------------------------------------------------
    def _decide_vectorised(self, cluster: ClusterState, demand: Demand) -> tuple[int | None, float | None, int, str]:
        candidates = passing_nodes(self.filters, cluster, demand)
        if candidates.size == 0:
            return None, None, 0, explain_unavailable(self.filters, cluster, demand)
        if self.select == "first" or self.scorer is None:
            node = int(candidates[0])
            score = self.scorer.score(cluster, node, demand) if self.scorer is not None else None
            return node, score, int(candidates.size), ""
        scores = self.scorer.scores(cluster, candidates, demand)
        position = int(np.argmin(scores) if self.select == "min" else np.argmax(scores))
        return int(candidates[position]), float(scores[position]), int(candidates.size), ""

    # -- the reference path --------------------------------------------------------------------------
    def _decide_reference(self, cluster: ClusterState, demand: Demand) -> tuple[int | None, float | None, int, str]:
        counts: Counter[str] = Counter()
        best: int | None = None
        best_score: float | None = None
        feasible = 0
        for node in range(cluster.node_count):
            reason = next((r for rule in self.filters if (r := rule.check(cluster, node, demand)) is not None), None)
            if reason is not None:
                counts[reason] += 1
                continue
            feasible += 1
            score = self.scorer.score(cluster, node, demand) if self.scorer is not None else None
            if best is None or self._better(score, best_score):
                best, best_score = node, score
        if best is None:
            return None, None, 0, unavailable_reason(cluster.node_count, counts)
        return best, best_score, feasible, ""

    def _better(self, score: float | None, best: float | None) -> bool:
        # strict comparison: on a tie the node seen first (registered earlier) stays chosen
        if self.select == "first" or score is None or best is None:
            return False
        return score < best if self.select == "min" else score > best
