"""Feasible nodes and their scores for one service, kept current by re-checking only the nodes that changed.

Placing a replica changes one node. When every filter and the scorer are *row-local* (a node's verdict and
score depend only on that node's own capacity, labels and the replicas it holds, never on other nodes),
every other node's verdict is still right afterwards. So the next replica of the same service re-checks
just the changed nodes with the one-node forms (`check`, `score`) instead of recomputing every mask over
every node. Plugins declare this with a class attribute `row_local = True`; a filter or scorer without it
makes the algorithm recompute everything for every replica, as before.

Selection is `argmin`/`argmax` over a per-node array holding the score where a node is feasible and +inf
(min) or -inf (max) elsewhere: first occurrence, so ties still go to the node registered first, and the
one-node and all-node score forms give the same floats (scores.py), so the choice is the one the reference
path makes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from rohe.orchestration.placement.filters import Filter
from rohe.orchestration.placement.scores import Scorer
from rohe.orchestration.placement.state import BoolArray, ClusterState, Demand, FloatArray

# Above this many changed nodes one vectorised recompute costs less than checking them one by one.
RECHECK_LIMIT = 8


def is_row_local(filters: Sequence[Filter], scorer: Scorer | None) -> bool:
    parts: list[object] = [*filters, *([scorer] if scorer is not None else [])]
    return all(getattr(part, "row_local", False) is True for part in parts)


@dataclass(eq=False)
class View:
    """One service's verdict on every node as of `version` of one cluster."""

    cluster: ClusterState
    demand: Demand
    version: int
    feasible: BoolArray
    count: int
    # scores of feasible nodes, the worst possible value elsewhere; None when selecting the first feasible
    keyed: FloatArray | None


class Candidates:
    """The filter, score and select steps of one placement round, with per-service views reused."""

    def __init__(self, filters: Sequence[Filter], scorer: Scorer | None, select: Literal["first", "min", "max"]):
        self.filters = list(filters)
        self.scorer = scorer if select != "first" else None
        self.worst = np.inf if select == "min" else -np.inf
        self.minimise = select == "min"
        self.views: dict[str, View] = {}

    def filter(self, cluster: ClusterState, demand: Demand) -> tuple[View, list[int] | None]:
        """The service's view with feasibility current; the nodes re-checked, or None if all were."""
        view = self.views.get(demand.service)
        if view is not None and view.cluster is cluster and view.demand is demand:
            changes = cluster.changed_since(view.version)
            rows = changes if len(changes) <= 1 else sorted(set(changes))
            if len(rows) <= RECHECK_LIMIT:
                for node in rows:
                    ok = True
                    for rule in self.filters:
                        if rule.check(cluster, node, demand) is not None:
                            ok = False
                            break
                    if ok != view.feasible[node]:
                        view.feasible[node] = ok
                        view.count += 1 if ok else -1
                view.version = cluster.version
                return view, rows
        feasible = _all_filters(self.filters, cluster, demand)
        view = View(cluster, demand, cluster.version, feasible, int(np.count_nonzero(feasible)), None)
        self.views[demand.service] = view
        return view, None

    def score(self, view: View, rows: list[int] | None) -> None:
        """Bring the view's scores up to date for `rows` (None: every node)."""
        if self.scorer is None:
            return
        cluster, demand = view.cluster, view.demand
        if rows is None or view.keyed is None:
            keyed = np.full(cluster.node_count, self.worst, dtype=np.float64)
            nodes = np.flatnonzero(view.feasible)
            if nodes.size:
                keyed[nodes] = self.scorer.scores(cluster, nodes, demand)
            view.keyed = keyed
            return
        for node in rows:
            view.keyed[node] = self.scorer.score(cluster, node, demand) if view.feasible[node] else self.worst

    def select(self, view: View) -> int | None:
        if view.count == 0:
            return None
        if view.keyed is None:
            return int(np.argmax(view.feasible))
        return int(view.keyed.argmin() if self.minimise else view.keyed.argmax())


def _all_filters(filters: Sequence[Filter], cluster: ClusterState, demand: Demand) -> BoolArray:
    mask: BoolArray | None = None
    for rule in filters:
        passing = rule.mask(cluster, demand)
        if passing is None:
            continue
        if mask is None:
            mask = passing.copy()  # a filter may hand out a cached array; the view's copy is its own
        else:
            np.logical_and(mask, passing, out=mask)
    return np.ones(cluster.node_count, dtype=np.bool_) if mask is None else mask
