"""`rohe-scoring` with strategy `pack`: best-fit decreasing, opening the largest node first.

Plain best-fit ranks nodes by the fraction each would have left free, so on a heterogeneous cluster it
fills the small nodes (Raspberry Pis) first and ends up using many of them. When the goal is to use as
few nodes as possible (power, cost, fewer failure domains), three classic bin-packing rules do better:

1. place the most constrained replicas first (those fewest nodes could ever take: node selectors,
   accelerators), then spread replicas (each needs a node of its own), and among equals the largest
   (CPU and memory demand relative to the mean node), so the few nodes a constrained replica can use
   are not filled by replicas that could go anywhere; when that order leaves replicas unplaced, the
   round is also tried smallest first and the order placing more replicas (then fewer nodes) wins;
2. put a replica on a node that already holds something whenever one can take it, choosing the one
   the ROHE score says is left with the least free capacity (best fit);
3. only when no used node fits, open a new one: the largest feasible node, so later replicas fit too;
4. then consolidate: for each node this round opened, emptiest first, try to move all of its replicas
   onto the other used nodes; if every one fits, the node is freed, else it stays exactly as it was.

The queue order changes only within one placement round; every replica still ends placed or queued
with the same kind of reason as the other strategies give.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from rohe.core.domain import Allocation
from rohe.orchestration.placement.framework import FilterScoreAlgorithm, passing_nodes
from rohe.orchestration.placement.result import Decision, PlacementResult, ReplicaRequest
from rohe.orchestration.placement.state import BoolArray, ClusterState, Demand, FloatArray, IndexArray


class PackingAlgorithm(FilterScoreAlgorithm):
    def place(self, cluster: ClusterState, requests: Sequence[ReplicaRequest]) -> PlacementResult:
        eligible: dict[str, int] = {}
        for request in requests:
            if request.service.name not in eligible:
                eligible[request.service.name] = _eligible_nodes(cluster, cluster.demand_of(request.service))
        by_key = {r.key: r for r in requests}
        # constrained first; spread replicas before the rest (each needs a node of its own); large first
        trial = cluster.copy()
        result = self._round(
            trial, requests, by_key, lambda r: (eligible[r.service.name], not r.service.spread, -_size(trial, r))
        )
        if result.unplaced:
            # Not everything fits: small first places the most replicas; keep whichever places more,
            # then whichever uses fewer nodes.
            other = cluster.copy()
            fallback = self._round(
                other, requests, by_key, lambda r: (eligible[r.service.name], not r.service.spread, _size(other, r))
            )
            if _rank(fallback) > _rank(result):
                result = fallback
        for (service, _), allocation in result.placed.items():
            cluster.hold(service, allocation)
        return result

    def _round(
        self,
        cluster: ClusterState,
        requests: Sequence[ReplicaRequest],
        by_key: dict[tuple[str, int], ReplicaRequest],
        order: Callable[[ReplicaRequest], tuple[int, bool, float]],
    ) -> PlacementResult:
        opened_before = _in_use(cluster).copy()
        result = super().place(cluster, sorted(requests, key=order))
        self._consolidate(cluster, result, by_key, opened_before)
        return result

    def _consolidate(
        self,
        cluster: ClusterState,
        result: PlacementResult,
        requests: dict[tuple[str, int], ReplicaRequest],
        opened_before: BoolArray,
    ) -> None:
        """Free the nodes this round opened whose replicas all fit on the other used nodes.

        Only nodes that held nothing before the round are emptied, so replicas placed earlier never move.
        """
        on_node: dict[int, list[tuple[str, int]]] = {}
        for key, allocation in result.placed.items():
            on_node.setdefault(cluster.index_of(allocation.node), []).append(key)
        closed = np.zeros(cluster.node_count, dtype=np.bool_)
        for node in sorted(
            (n for n in on_node if not opened_before[n]), key=lambda n: (len(on_node[n]), float(_load(cluster)[n]))
        ):
            keys = sorted(on_node[node], key=lambda k: -_size(cluster, requests[k]))
            originals = {key: result.placed[key] for key in keys}
            for key in keys:
                cluster.release(key[0], originals[key])
            closed[node] = True
            moved: dict[tuple[str, int], Allocation] = {}
            for key in keys:
                demand = cluster.demand_of(requests[key].service)
                candidates = passing_nodes(self.filters, cluster, demand)
                candidates = candidates[_in_use(cluster)[candidates] & ~closed[candidates]]
                if candidates.size == 0:
                    break
                target = int(candidates[int(np.argmax(_alignment(cluster, candidates, demand)))])
                moved[key] = cluster.allocate(demand, target)
            if len(moved) < len(keys):
                for key, allocation in moved.items():
                    cluster.release(key[0], allocation)
                for key in keys:
                    cluster.hold(key[0], originals[key])
                closed[node] = False
                continue
            for key, allocation in moved.items():
                result.placed[key] = allocation
                target = cluster.index_of(allocation.node)
                on_node.setdefault(target, []).append(key)
                old = result.decisions.get(key)
                if old is not None:
                    result.decisions[key] = Decision(allocation.node, old.score, old.feasible_nodes, old.seconds)
            on_node[node] = []

    def _decide_vectorised(self, cluster: ClusterState, demand: Demand) -> tuple[int | None, float | None, int, str]:
        candidates = passing_nodes(self.filters, cluster, demand)
        if candidates.size == 0:
            return super()._decide_vectorised(cluster, demand)
        node = _choose(self, cluster, candidates, demand)
        return node, self._score(cluster, node, demand), int(candidates.size), ""

    def _decide_reference(self, cluster: ClusterState, demand: Demand) -> tuple[int | None, float | None, int, str]:
        feasible = [
            node
            for node in range(cluster.node_count)
            if all(rule.check(cluster, node, demand) is None for rule in self.filters)
        ]
        if not feasible:
            return super()._decide_reference(cluster, demand)
        used = [node for node in feasible if _in_use(cluster)[node]]
        if used:
            scores = [float(_alignment(cluster, np.array([node], dtype=np.intp), demand)[0]) for node in used]
            node = used[scores.index(max(scores))]
        else:
            sizes = [_capacity(cluster)[node] for node in feasible]
            node = feasible[sizes.index(max(sizes))]
        return node, self._score(cluster, node, demand), len(feasible), ""

    def _score(self, cluster: ClusterState, node: int, demand: Demand) -> float | None:
        return self.scorer.score(cluster, node, demand) if self.scorer is not None else None


def _choose(algorithm: PackingAlgorithm, cluster: ClusterState, candidates: IndexArray, demand: Demand) -> int:
    used = candidates[_in_use(cluster)[candidates]]
    if used.size:
        return int(used[int(np.argmax(_alignment(cluster, used, demand)))])
    # np.argmax keeps the first of equal sizes: ties go to the node registered first, as elsewhere.
    return int(candidates[int(np.argmax(_capacity(cluster)[candidates]))])


def _in_use(cluster: ClusterState) -> BoolArray:
    in_use: BoolArray = (cluster.cpu_free < cluster.cpu_cap) | (cluster.rss_free < cluster.rss_cap)
    in_use |= cluster.vms_free < cluster.vms_cap
    return in_use


def _alignment(cluster: ClusterState, nodes: IndexArray, demand: Demand) -> FloatArray:
    """How well a replica's demand lines up with what each node has free (the dot-product rule of
    multi-dimensional bin packing): a CPU-heavy replica goes where CPU is left, a memory-heavy one where
    memory is, so no node ends full in one resource and idle in the other."""
    cpu_scale = max(float(cluster.cpu_cap.mean()), 1.0)
    rss_scale = max(float(cluster.rss_cap.mean()), 1.0)
    score: FloatArray = (demand.cpu / cpu_scale) * (cluster.cpu_free[nodes] / cpu_scale) + (demand.rss / rss_scale) * (
        cluster.rss_free[nodes] / rss_scale
    )
    return score


def _rank(result: PlacementResult) -> tuple[int, int]:
    return len(result.placed), -len({a.node for a in result.placed.values()})


def _load(cluster: ClusterState) -> FloatArray:
    """How full each node is: the larger of its CPU and memory fractions in use."""
    cpu = 1 - cluster.cpu_free / np.maximum(cluster.cpu_cap, 1)
    rss = 1 - cluster.rss_free / np.maximum(cluster.rss_cap, 1)
    load: FloatArray = np.maximum(cpu, rss)
    return load


def _capacity(cluster: ClusterState) -> FloatArray:
    """A node's size relative to the cluster's mean node, CPU and memory counted alike."""
    cpu = cluster.cpu_cap / max(float(cluster.cpu_cap.mean()), 1.0)
    rss = cluster.rss_cap / max(float(cluster.rss_cap.mean()), 1.0)
    capacity: FloatArray = cpu + rss
    return capacity


def _eligible_nodes(cluster: ClusterState, demand: Demand) -> int:
    """Nodes that could take the replica on an empty cluster: labels and accelerator kinds only."""
    if demand.missing_accelerators:
        return 0
    mask = cluster.selector_mask(demand.selector)
    if demand.accelerator_columns.size:
        offered = cluster.accelerator_cap[:, demand.accelerator_columns]
        mask = mask & np.all(offered >= demand.accelerator_amounts, axis=1)
    return int(mask.sum())


def _size(cluster: ClusterState, request: ReplicaRequest) -> float:
    if cluster.node_count == 0:
        return 0.0
    service = request.service
    return service.cpu_demand / max(float(cluster.cpu_cap.mean()), 1.0) + service.memory.rss / max(
        float(cluster.rss_cap.mean()), 1.0
    )
