"""The CP-SAT model behind `optimal`, over replica COUNTS rather than single replicas.

Replicas of one service are interchangeable, so the model decides how many of each service go on each
node: n[g, v] for service group g and node v (created only where the filters say one replica fits, so
schedulability, node selector, spread against what is held and "no gpu" need no constraints), and for
per-core needs z[g, v, j, c] = how many of the group's j-th needs sit on core c (only on cores with room
for one). This is exact: with sum_c z[g,v,j,c] = n[g,v] for every need j and sum_j z[g,v,j,c] <= n[g,v]
for every core, the needs form a bipartite multigraph of maximum degree n[g,v], which by Koenig's
theorem splits into n[g,v] replicas that each put every need on a different core.

Constraints: each group places at most its replica count (spread: at most one per node); per node CPU,
rss, vms and each accelerator within what is free, times used[v] so the relaxation knows an unused node
offers nothing; per core the pinned needs within its free capacity. Objective: maximise
(U + 1) * placed - used nodes, U the number of used[] variables, so one more placed replica outweighs
any number of nodes. Empty nodes alike in every respect are used in order (symmetry breaking).

Accelerator amounts are floats: the model counts thousandths, rounding needs up and free capacity down,
so it never over-commits.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ortools.sat.python import cp_model

from rohe.orchestration.placement.result import Bound
from rohe.orchestration.placement.state import ACCELERATOR_TOLERANCE, ClusterState, Demand

ACCELERATOR_SCALE = 1000
SOLVER_WORKERS = 2


@dataclass
class Group:
    """Requests with one demand (the replicas of one service), in request order."""

    demand: Demand
    members: list[int]
    eligible: list[int]


@dataclass
class Counts:
    """How many of each group go where: per (group, node), and per (group, node, need) per core."""

    placed: dict[tuple[int, int], int] = field(default_factory=dict)
    cores: dict[tuple[int, int, int], dict[int, int]] = field(default_factory=dict)


class CountModel:
    def __init__(self, cluster: ClusterState, groups: Sequence[Group]) -> None:
        self.model = cp_model.CpModel()
        self.groups = groups
        self.n: dict[tuple[int, int], Any] = {}
        self.z: dict[tuple[int, int, int], list[tuple[int, Any]]] = {}
        self.used: dict[int, Any] = {}
        self._build(cluster)

    def _build(self, cluster: ClusterState) -> None:
        m = self.model
        on_node: dict[int, list[int]] = {}
        for g, group in enumerate(self.groups):
            limit = 1 if group.demand.spread else len(group.members)
            for v in group.eligible:
                self.n[g, v] = m.new_int_var(0, limit, f"n_{g}_{v}")
                on_node.setdefault(v, []).append(g)
            if group.eligible:
                m.add(sum(self.n[g, v] for v in group.eligible) <= len(group.members))
        already_used = {v for counts in cluster.held.values() for v in counts}
        for v, members in on_node.items():
            if v not in already_used:
                self.used[v] = m.new_bool_var(f"used_{v}")
                for g in members:
                    m.add(self.n[g, v] <= len(self.groups[g].members) * self.used[v])
            self._node_capacity(cluster, v, members)
            self._cores(cluster, v, members)
        self._identical_nodes(cluster, on_node)
        weight = len(self.used) + 1
        m.maximize(weight * sum(self.n.values()) - sum(self.used.values()))

    def _node_capacity(self, cluster: ClusterState, v: int, members: list[int]) -> None:
        scale: Any = self.used.get(v, 1)
        demands = [(g, self.groups[g].demand) for g in members]
        for resource, free in (
            ("cpu", int(cluster.cpu_free[v])),
            ("rss", int(cluster.rss_free[v])),
            ("vms", int(cluster.vms_free[v])),
        ):
            terms = [int(getattr(d, resource)) * self.n[g, v] for g, d in demands if getattr(d, resource) > 0]
            if terms:
                self.model.add(sum(terms) <= free * scale)
        for column, kind in enumerate(cluster.accelerator_kinds):
            free_amount = float(cluster.accelerator_free[v, column]) + ACCELERATOR_TOLERANCE
            terms = [
                math.ceil(d.accelerators[kind] * ACCELERATOR_SCALE - 1e-6) * self.n[g, v]
                for g, d in demands
                if kind in d.accelerators
            ]
            if terms:
                self.model.add(sum(terms) <= math.floor(free_amount * ACCELERATOR_SCALE) * scale)

    def _cores(self, cluster: ClusterState, v: int, members: list[int]) -> None:
        m = self.model
        free = [int(c) for c in cluster.cores_free[v, : cluster.core_counts[v]]]
        per_core: dict[int, list[Any]] = {}
        for g in members:
            needs, limit = self.groups[g].demand.cores, len(self.groups[g].members)
            on_core: dict[int, list[Any]] = {}
            for j, need in enumerate(needs):
                choices = self.z.setdefault((g, v, j), [])
                for c, room in enumerate(free):
                    if need <= room:
                        var = m.new_int_var(0, min(limit, room // need), f"z_{g}_{v}_{j}_{c}")
                        choices.append((c, var))
                        on_core.setdefault(c, []).append(var)
                        per_core.setdefault(c, []).append(need * var)
                m.add(sum(var for _, var in choices) == self.n[g, v])
            if len(needs) > 1:
                for variables in on_core.values():
                    m.add(sum(variables) <= self.n[g, v])
        for c, terms in per_core.items():
            m.add(sum(terms) <= free[c])

    def _identical_nodes(self, cluster: ClusterState, on_node: dict[int, list[int]]) -> None:
        groups: dict[tuple[Any, ...], list[int]] = {}
        for v in self.used:
            signature = (
                int(cluster.cpu_free[v]),
                int(cluster.rss_free[v]),
                int(cluster.vms_free[v]),
                tuple(float(a) for a in cluster.accelerator_free[v]),
                tuple(int(c) for c in cluster.cores_free[v]),
                tuple(on_node[v]),
            )
            groups.setdefault(signature, []).append(v)
        for alike in groups.values():
            for earlier, later in itertools.pairwise(alike):
                self.model.add(self.used[earlier] >= self.used[later])

    def add_hint(self, counts: Counts) -> None:
        for key, var in self.n.items():
            self.model.add_hint(var, counts.placed.get(key, 0))
        busy = {v for (_, v), count in counts.placed.items() if count > 0}
        for v, var in self.used.items():
            self.model.add_hint(var, 1 if v in busy else 0)
        for need, choices in self.z.items():
            on_cores = counts.cores.get(need, {})
            for c, var in choices:
                self.model.add_hint(var, on_cores.get(c, 0))

    def solve(self, time_limit: float) -> Solution:
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = time_limit
        solver.parameters.num_workers = SOLVER_WORKERS
        solver.parameters.random_seed = 0
        # By default CP-SAT takes SIGINT over for the solve and leaves it at the C default afterwards, so a
        # server's next Ctrl-C killed the process instead of raising KeyboardInterrupt (no graceful shutdown).
        solver.parameters.catch_sigint_signal = False
        status = solver.solve(self.model)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return Solution(None, False, None, None)
        counts = Counts()
        for key, var in self.n.items():
            if (value := int(solver.value(var))) > 0:
                counts.placed[key] = value
        for need, choices in self.z.items():
            on_cores = {c: int(solver.value(var)) for c, var in choices}
            counts.cores[need] = {c: k for c, k in on_cores.items() if k > 0}
        return Solution(counts, status == cp_model.OPTIMAL, solver.objective_value, solver.best_objective_bound)

    @property
    def weight(self) -> int:
        """What one placed replica is worth in the objective: more than every node that could be opened."""
        return len(self.used) + 1

    def objective_of(self, counts: Counts) -> int:
        """The objective value of `counts` (for comparing the solver's answer with its hint)."""
        busy = {v for (_, v), count in counts.placed.items() if count > 0}
        return self.weight * sum(counts.placed.values()) - sum(1 for v in self.used if v in busy)

    def bound(self, objective: float, best_bound: float) -> Bound:
        """The solver's proven bound in the model's terms: most replicas that can be placed, and the gap."""
        # objective = weight * placed - new nodes with 0 <= new nodes < weight: placed <= (bound + weight - 1) / weight
        placed_at_most = math.floor((best_bound + self.weight - 1) / self.weight + 1e-9)
        gap = (best_bound - objective) / max(abs(best_bound), 1.0)
        return Bound(placed_at_most=placed_at_most, objective=objective, best_bound=best_bound, gap=max(gap, 0.0))


@dataclass(frozen=True)
class Solution:
    counts: Counts | None
    proven: bool
    objective: float | None
    best_bound: float | None
