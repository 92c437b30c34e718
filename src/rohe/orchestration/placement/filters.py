"""Filter plugins: one rule each, deciding whether a node can take one more replica.

Every filter answers twice: `check` for one node (the readable reference path) and `mask` for all nodes
at once (the fast path). Both must agree; the property tests hold them to it. `mask` may return None to
say "every node passes" so rules that do not apply to a service cost nothing.
"""

from __future__ import annotations

from collections import Counter
from typing import Protocol, runtime_checkable

import numpy as np

from rohe.orchestration.placement.state import (
    ACCELERATOR_TOLERANCE,
    BoolArray,
    ClusterState,
    Demand,
    IndexArray,
)


@runtime_checkable
class Filter(Protocol):
    name: str

    def check(self, state: ClusterState, node: int, demand: Demand) -> str | None:
        """None if node `node` passes, else the reason it does not."""
        ...

    def mask(self, state: ClusterState, demand: Demand) -> BoolArray | None:
        """Which nodes pass (never mutate the returned array: it may be a cached one)."""
        ...

    def explain(self, state: ClusterState, demand: Demand, failing: IndexArray) -> Counter[str]:
        """Reasons, counted, for the nodes in `failing` (all of which fail this filter)."""
        ...


class FixedReasonFilter:
    """Base for filters with one reason for every failing node."""

    name = "fixed-reason"
    reason = "filtered out"
    # a node's verdict depends on that node alone (candidates.py); subclasses that look further say False
    row_local = True

    def explain(self, state: ClusterState, demand: Demand, failing: IndexArray) -> Counter[str]:
        return Counter({self.reason: int(failing.size)}) if failing.size else Counter()


class NodeCheckFilter(FixedReasonFilter):
    """Base for plugins written one node at a time: `mask` loops over `check` (slow but simple).

    Not assumed row-local: set `row_local = True` when `check` reads only the node it is given.
    """

    row_local = False

    def check(self, state: ClusterState, node: int, demand: Demand) -> str | None:
        raise NotImplementedError

    def mask(self, state: ClusterState, demand: Demand) -> BoolArray | None:
        return np.array([self.check(state, i, demand) is None for i in range(state.node_count)], dtype=np.bool_)

    def explain(self, state: ClusterState, demand: Demand, failing: IndexArray) -> Counter[str]:
        return Counter(r for i in failing if (r := self.check(state, int(i), demand)) is not None)


class Schedulable(FixedReasonFilter):
    name = "schedulable"
    reason = "node not schedulable"

    def check(self, state: ClusterState, node: int, demand: Demand) -> str | None:
        return None if state.nodes[node].schedulable else self.reason

    def mask(self, state: ClusterState, demand: Demand) -> BoolArray | None:
        return state.schedulable


class NodeSelector(FixedReasonFilter):
    name = "node-selector"
    reason = "node(s) didn't match node selector"

    def check(self, state: ClusterState, node: int, demand: Demand) -> str | None:
        labels = state.nodes[node].labels
        return None if all(labels.get(k) == v for k, v in demand.selector) else self.reason

    def mask(self, state: ClusterState, demand: Demand) -> BoolArray | None:
        return state.selector_mask(demand.selector) if demand.selector else None


class Spread(FixedReasonFilter):
    name = "spread"
    reason = "spread: already runs a replica"

    def check(self, state: ClusterState, node: int, demand: Demand) -> str | None:
        if demand.spread and state.held.get(demand.service, {}).get(node, 0) > 0:
            return self.reason
        return None

    def mask(self, state: ClusterState, demand: Demand) -> BoolArray | None:
        holding = state.held.get(demand.service) if demand.spread else None
        if not holding:
            return None
        mask = np.ones(state.node_count, dtype=np.bool_)
        mask[list(holding)] = False
        return mask


class Cpu(FixedReasonFilter):
    name = "cpu"
    reason = "insufficient cpu"

    def check(self, state: ClusterState, node: int, demand: Demand) -> str | None:
        return None if demand.cpu <= state.cpu_free[node] else self.reason

    def mask(self, state: ClusterState, demand: Demand) -> BoolArray | None:
        return state.cpu_free >= demand.cpu


class PerCoreFit(FixedReasonFilter):
    """Largest needs against the most free cores, pairwise; more needs than cores never fits."""

    name = "per-core"
    reason = "per-core fit failed"

    def check(self, state: ClusterState, node: int, demand: Demand) -> str | None:
        if not demand.cores:
            return None
        count = int(state.core_counts[node])
        if len(demand.cores) > count:
            return self.reason
        free = sorted((int(c) for c in state.cores_free[node, :count]), reverse=True)
        return None if all(need <= have for need, have in zip(demand.cores, free, strict=False)) else self.reason

    def mask(self, state: ClusterState, demand: Demand) -> BoolArray | None:
        needs = len(demand.cores)
        if needs == 0:
            return None
        if needs > state.cores_sorted.shape[1]:
            return np.zeros(state.node_count, dtype=np.bool_)
        # padding columns hold -1, so a node with fewer cores than needs fails on its own
        return np.asarray((state.cores_sorted[:, :needs] >= demand.core_array).all(axis=1), dtype=np.bool_)


class Memory(FixedReasonFilter):
    name = "memory"
    reason = "insufficient memory"

    def check(self, state: ClusterState, node: int, demand: Demand) -> str | None:
        return None if demand.rss <= state.rss_free[node] else self.reason

    def mask(self, state: ClusterState, demand: Demand) -> BoolArray | None:
        return state.rss_free >= demand.rss


class VirtualMemory(FixedReasonFilter):
    name = "vms"
    reason = "insufficient vms"

    def check(self, state: ClusterState, node: int, demand: Demand) -> str | None:
        return None if demand.vms <= state.vms_free[node] else self.reason

    def mask(self, state: ClusterState, demand: Demand) -> BoolArray | None:
        return state.vms_free >= demand.vms


class Accelerators:
    """Each needed accelerator type: "no gpu" where the node has none, "insufficient gpu" where too little."""

    name = "accelerators"
    row_local = True

    def check(self, state: ClusterState, node: int, demand: Demand) -> str | None:
        if not demand.accelerators:
            return None
        for kind in demand.missing_accelerators:
            return f"no {kind}"
        for column, amount in zip(demand.accelerator_columns, demand.accelerator_amounts, strict=True):
            if amount > state.accelerator_free[node, column] + ACCELERATOR_TOLERANCE:
                kind = state.accelerator_kinds[column]
                return f"no {kind}" if state.accelerator_cap[node, column] <= 0 else f"insufficient {kind}"
        return None

    def mask(self, state: ClusterState, demand: Demand) -> BoolArray | None:
        if demand.missing_accelerators:
            return np.zeros(state.node_count, dtype=np.bool_)
        if not demand.accelerator_columns.size:
            return None
        free = state.accelerator_free[:, demand.accelerator_columns] + ACCELERATOR_TOLERANCE
        return np.asarray((free >= demand.accelerator_amounts).all(axis=1), dtype=np.bool_)

    def explain(self, state: ClusterState, demand: Demand, failing: IndexArray) -> Counter[str]:
        """`check`'s reason for each failing node, by column instead of node by node."""
        if demand.missing_accelerators:
            return Counter({f"no {demand.missing_accelerators[0]}": int(failing.size)})
        counts: Counter[str] = Counter()
        remaining = failing
        for column, amount in zip(demand.accelerator_columns, demand.accelerator_amounts, strict=True):
            short = amount > state.accelerator_free[remaining, column] + ACCELERATOR_TOLERANCE
            here = remaining[short]
            kind = state.accelerator_kinds[column]
            absent = int(np.count_nonzero(state.accelerator_cap[here, column] <= 0))
            counts.update({f"no {kind}": absent, f"insufficient {kind}": int(here.size) - absent})
            remaining = remaining[~short]
        return +counts


def default_filters() -> list[Filter]:
    """The built-in rules in the order reasons are attributed (a node counts under its first failure)."""
    return [
        Schedulable(),
        NodeSelector(),
        Spread(),
        Cpu(),
        PerCoreFit(),
        Memory(),
        VirtualMemory(),
        Accelerators(),
    ]
