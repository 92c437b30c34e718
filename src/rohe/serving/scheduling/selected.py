"""ROHE's consumer-specific ensemble behind the per-request interface.

The original serves each consumer with the ensemble `rohe-ensemble` selects for its contract, re-selected per
window rather than per request. Here the search runs once per consumer and node-type set (on its first
request) and every request of that consumer is served by the chosen members; a member whose p99 no longer
fits the time left is left out of that request rather than making it late.
"""

from __future__ import annotations

import numpy as np

from rohe.core.errors import RoheError
from rohe.serving.scheduling.base import ExecutionPlan, PreparedConsumer, RequestContext, feasible, make_plan
from rohe.serving.selection import EnsembleSearch, get_search


class SelectedEnsemble:
    """Serve the ensemble an EnsembleSearch (by default `rohe-ensemble`) picks for the consumer's contract."""

    def __init__(self, search: EnsembleSearch | str = "rohe-ensemble") -> None:
        self.search = get_search(search) if isinstance(search, str) else search
        self.name = self.search.name

    def plan(self, request: RequestContext) -> ExecutionPlan:
        consumer = request.consumer
        view = consumer.view(request.node_types)
        key = (self.name, request.node_types)
        chosen = consumer.precomputed.get(key)
        if chosen is None:
            chosen = consumer.precomputed[key] = self._choose(consumer, request.node_types)
        members = np.asarray(chosen, dtype=np.intp)
        # An empty plan (nothing chosen, or nothing fits the time left) becomes an explicit "no member" error.
        return make_plan(self.name, request, view, members[feasible(view, request.remaining_ms)[members]])

    def _choose(self, consumer: PreparedConsumer, node_types: tuple[str, ...] | None) -> tuple[int, ...]:
        contract = consumer.contract
        if node_types is not None:
            allowed = node_types if contract.node_types is None else tuple(
                n for n in node_types if n in contract.node_types
            )
            contract = contract.model_copy(update={"node_types": allowed})
        try:
            choice = self.search.search(contract, consumer.catalog)
        except RoheError:
            return ()  # no ensemble satisfies the contract: every request says so instead of guessing
        return tuple(consumer.catalog.require_model(m.model, "ensemble") for m in choice.members)
