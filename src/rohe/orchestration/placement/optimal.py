"""`optimal`: an exact CP-SAT model. Most replicas placed first, then fewest nodes in use.

The model itself is in `optimal_model`. Around it: the best of a few greedy heuristics (several orders,
largest first among them, and `pack`) is handed to CP-SAT as a hint, so even a time-limited run starts
from a good feasible answer, and the answer is never worse than that hint (a time-limited search that ends
below it is discarded). `optimal_time_limit` bounds the whole call, heuristics and model building
included; the result carries the solver's proven bound and the gap to it. The solver's counts are turned
back into one allocation per replica; every allocation
is checked by the filters against the cluster before it is applied, and the cores the solver chose
against what each of them still has free (a safety net: the model and the filters state the same rules
twice); and whatever is left unplaced gets one best-fit pass before it is reported with a reason.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence

from rohe.core.config import OrchestrationSettings
from rohe.orchestration.placement.filters import default_filters
from rohe.orchestration.placement.framework import FilterScoreAlgorithm, passing_nodes
from rohe.orchestration.placement.optimal_model import CountModel, Counts, Group
from rohe.orchestration.placement.packing import PackingAlgorithm
from rohe.orchestration.placement.result import Decision, PlacementResult, ReplicaRequest
from rohe.orchestration.placement.scores import MostAllocated, RoheScore
from rohe.orchestration.placement.state import ClusterState, Demand

# Below this, a solve cannot improve on its hint: the hint is returned as it is.
MIN_SOLVE_SECONDS = 0.05
# Reserved for turning the answer into allocations: fixed part plus per replica.
FINISH_SECONDS = 0.05
FINISH_SECONDS_PER_REPLICA = 50e-6

# request index -> (node index, core per per-core need, or None to let the state pick cores)
Assignment = dict[int, tuple[int, list[int] | None]]


class OptimalAlgorithm:
    name = "optimal"

    def __init__(self, settings: OrchestrationSettings | None = None) -> None:
        self.settings = settings or OrchestrationSettings()
        self.filters = default_filters()
        best_fit = self.settings.model_copy(update={"strategy": "best-fit"})
        self._fill = FilterScoreAlgorithm(self.name, RoheScore(best_fit), "min", self.filters)
        self._starts = [
            self._fill,
            FilterScoreAlgorithm(self.name, None, "first", self.filters),
            FilterScoreAlgorithm(self.name, MostAllocated(self.settings.weights), "max", self.filters),
            FilterScoreAlgorithm(self.name, RoheScore(best_fit), "max", self.filters),
            # best-fit decreasing with consolidation: usually the fewest nodes of all heuristics
            PackingAlgorithm(self.name, RoheScore(best_fit), "min", self.filters),
        ]

    def place(self, cluster: ClusterState, requests: Sequence[ReplicaRequest]) -> PlacementResult:
        started = time.perf_counter()
        deadline = started + self.settings.optimal_time_limit
        groups = self._groups(cluster, requests)
        hint = self._best_start(cluster, requests)
        assignment, proven, bound = hint, False, None
        # The limit covers the whole call: heuristics and model building count, and so does turning the
        # answer into allocations afterwards (reserved up front).
        if _left(deadline, requests) > MIN_SOLVE_SECONDS:
            model = CountModel(cluster, groups)
            hinted = _counts_of(hint, groups)
            model.add_hint(hinted)
            left = _left(deadline, requests)
            solution = model.solve(left) if left > MIN_SOLVE_SECONDS else None
            if solution is not None and solution.best_bound is not None:
                objective = model.objective_of(hinted)
                # A time-limited search can end below its own hint; the hint is then the better answer.
                if solution.counts is not None and model.objective_of(solution.counts) >= objective:
                    assignment, proven = _assignment_of(solution.counts, groups), solution.proven
                    objective = model.objective_of(solution.counts)
                bound = model.bound(objective, solution.best_bound)

        result = PlacementResult(algorithm=self.name, proven_optimal=proven, bound=bound)
        seconds = (time.perf_counter() - started) / max(len(requests), 1)
        eligible = {r: len(group.eligible) for group in groups for r in group.members}
        leftover: list[ReplicaRequest] = []
        for r, request in enumerate(requests):
            target = assignment.get(r)
            demand = cluster.demand_of(request.service)
            if target is None or not self._fits(cluster, target[0], demand):
                leftover.append(request)
                continue
            node, cores = target[0], _checked_cores(cluster, target[0], target[1], demand)
            result.placed[request.key] = cluster.allocate(demand, node, cores)
            result.decisions[request.key] = Decision(cluster.names[node], None, eligible[r], seconds)
        filled = self._fill.place(cluster, leftover)
        result.placed.update(filled.placed)
        result.unplaced.update(filled.unplaced)
        result.decisions.update(filled.decisions)
        return result

    def _groups(self, cluster: ClusterState, requests: Sequence[ReplicaRequest]) -> list[Group]:
        by_demand: dict[int, Group] = {}
        for r, request in enumerate(requests):
            demand = cluster.demand_of(request.service)
            group = by_demand.get(id(demand))
            if group is None or group.demand is not demand:
                eligible = [int(v) for v in passing_nodes(self.filters, cluster, demand)]
                group = by_demand[id(demand)] = Group(demand, [], eligible)
            group.members.append(r)
        return list(by_demand.values())

    def _fits(self, cluster: ClusterState, node: int, demand: Demand) -> bool:
        return all(rule.check(cluster, node, demand) is None for rule in self.filters)

    def _best_start(self, cluster: ClusterState, requests: Sequence[ReplicaRequest]) -> Assignment:
        """The best of a few heuristics and orders, tried on scratch copies of the cluster."""
        best: tuple[tuple[int, int], Assignment] = ((0, 0), {})
        in_order = list(range(len(requests)))
        largest_first = sorted(in_order, key=lambda r: _size(cluster, requests[r]), reverse=True)
        for start, order in itertools.product(self._starts, (in_order, largest_first)):
            scratch = cluster.copy()
            greedy = start.place(scratch, [requests[r] for r in order])
            assignment: Assignment = {}
            for r, request in enumerate(requests):
                allocation = greedy.placed.get(request.key)
                if allocation is not None:
                    # one core per need, taken largest first: pair them with the needs in that order
                    by_size = sorted(allocation.cores.items(), key=lambda item: -item[1])
                    assignment[r] = (scratch.index_of(allocation.node), [core for core, _ in by_size])
            quality = (len(assignment), -len({node for node, _ in assignment.values()}))
            if not best[1] or quality > best[0]:
                best = (quality, assignment)
        return best[1]


def _left(deadline: float, requests: Sequence[ReplicaRequest]) -> float:
    """Seconds the solver may still use before the time limit, after reserving time to finish."""
    return deadline - time.perf_counter() - FINISH_SECONDS - FINISH_SECONDS_PER_REPLICA * len(requests)


def _checked_cores(cluster: ClusterState, node: int, cores: list[int] | None, demand: Demand) -> list[int] | None:
    """The solver's cores if each still has room for its need, else None to let the state pick.

    The filters only prove that SOME assignment of the needs to cores fits; a split of the solver's
    counts that went wrong for one replica could hand a later one cores that are already taken.
    """
    if cores is None or len(set(cores)) != len(cores) or len(cores) != len(demand.cores):
        return None
    free = cluster.cores_free[node]
    return cores if all(int(free[c]) >= need for c, need in zip(cores, demand.cores, strict=True)) else None


def _size(cluster: ClusterState, request: ReplicaRequest) -> float:
    """A replica's demand relative to the largest node, CPU and memory summed: the sort key for packing."""
    service = request.service
    cpu = service.cpu_demand / max(int(cluster.cpu_cap.max(initial=0)), 1)
    rss = service.memory.rss / max(int(cluster.rss_cap.max(initial=0)), 1)
    return cpu + rss


def _counts_of(assignment: Assignment, groups: Sequence[Group]) -> Counts:
    counts = Counts()
    for g, group in enumerate(groups):
        for r in group.members:
            if r not in assignment:
                continue
            node, cores = assignment[r]
            counts.placed[g, node] = counts.placed.get((g, node), 0) + 1
            for j, core in enumerate(cores or []):
                on_cores = counts.cores.setdefault((g, node, j), {})
                on_cores[core] = on_cores.get(core, 0) + 1
    return counts


def _assignment_of(counts: Counts, groups: Sequence[Group]) -> Assignment:
    """Hand each group's placed count to its earliest replicas, node by node, splitting the core counts."""
    assignment: Assignment = {}
    for g, group in enumerate(groups):
        members = iter(group.members)
        for node in group.eligible:
            remaining = {j: dict(counts.cores.get((g, node, j), {})) for j in range(len(group.demand.cores))}
            for _ in range(counts.placed.get((g, node), 0)):
                assignment[next(members)] = (node, _take_cores(remaining))
    return assignment


def _take_cores(remaining: dict[int, dict[int, int]]) -> list[int] | None:
    """Distinct cores for one replica's needs, from the per-need core counts the solver chose.

    Greedy: each need takes the core where the most needs still wait. A split always exists (see
    optimal_model); if this greedy misses it, None lets the cluster pick the cores, and the filters
    check the result before it is applied.
    """
    load: dict[int, int] = {}
    for on_cores in remaining.values():
        for core, count in on_cores.items():
            load[core] = load.get(core, 0) + count
    chosen: list[int] = []
    for j in sorted(remaining, key=lambda j: len(remaining[j])):
        options = [c for c, k in remaining[j].items() if k > 0 and c not in chosen]
        if not options:
            return None
        core = max(options, key=lambda c: (load[c], -c))
        chosen.append(core)
    ordered = [0] * len(chosen)
    for position, j in enumerate(sorted(remaining, key=lambda j: len(remaining[j]))):
        ordered[j] = chosen[position]
        remaining[j][chosen[position]] -= 1
    return ordered or None
