"""ROHE's consumer-specific ensemble behind the per-request interface.

The original serves each consumer with the ensemble `rohe-ensemble` selects for its contract, re-selected per
window rather than per request. Here the search runs once per consumer and node-type set (on its first
request) and every request of that consumer is served by the chosen members; a member whose p99 no longer
fits the time left is left out of that request rather than making it late.

When no ensemble satisfies the contract the consumer is served best-effort by the nearest-feasible ensemble
(scheduling/fallback.py): a warning says so once per consumer, naming each broken clause and the value the
fallback reaches, and every plan from it carries `breach` and the scheduler name `<name> (best-effort)`, so
each such request is counted as a contract breach instead of failing with an unrelated deadline error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from rohe.core.errors import NotFound, RoheError
from rohe.serving.scheduling.base import ExecutionPlan, PreparedConsumer, RequestContext, feasible, make_plan
from rohe.serving.scheduling.fallback import nearest_feasible
from rohe.serving.selection import EnsembleSearch, get_search

log = logging.getLogger(__name__)

BEST_EFFORT = "best-effort"


@dataclass(frozen=True)
class Selection:
    """What one consumer is served with: catalog model indices, and why it breaches the contract (if it does)."""

    models: tuple[int, ...]
    breach: str | None = None


class SelectedEnsemble:
    """Serve the ensemble an EnsembleSearch (by default `rohe-ensemble`) picks for the consumer's contract."""

    def __init__(self, search: EnsembleSearch | str = "rohe-ensemble") -> None:
        self.search = get_search(search) if isinstance(search, str) else search
        self.name = self.search.name

    def selection(self, consumer: PreparedConsumer, node_types: tuple[str, ...] | None = None) -> Selection:
        """The consumer's ensemble for these node types, searched on first use and then reused."""
        key = (self.name, node_types)
        chosen = consumer.precomputed.get(key)
        if not isinstance(chosen, Selection):
            chosen = self._choose(consumer, node_types)
            consumer.precomputed[key] = chosen
        return chosen

    def plan(self, request: RequestContext) -> ExecutionPlan:
        consumer = request.consumer
        view = consumer.view(request.node_types)
        chosen = self.selection(consumer, request.node_types)
        members = np.asarray(chosen.models, dtype=np.intp)
        name = self.name if chosen.breach is None else f"{self.name} ({BEST_EFFORT})"
        # An empty plan (nothing chosen, or nothing fits the time left) becomes an explicit "no member" error.
        fits = members[feasible(view, request.remaining_ms)[members]]
        return make_plan(name, request, view, fits, breach=chosen.breach)

    def _choose(self, consumer: PreparedConsumer, node_types: tuple[str, ...] | None) -> Selection:
        contract = consumer.contract
        if node_types is not None:
            allowed = (
                node_types if contract.node_types is None else tuple(n for n in node_types if n in contract.node_types)
            )
            contract = contract.model_copy(update={"node_types": allowed})
        catalog = consumer.catalog
        try:
            choice = self.search.search(contract, catalog)
        except NotFound as exc:
            fallback = nearest_feasible(contract, catalog)
            if fallback is None:
                log.warning(
                    "%s: %s for %r and no candidate has the profile values to fall back on; its requests get no answer",
                    self.name,
                    exc.message,
                    contract.consumer,
                )
                return Selection((), f"{exc.message}; no fallback has the needed profile values")
            reason = fallback.reason(contract.consumer)
            models = ", ".join(catalog.models[m] for m, _ in fallback.members)
            log.warning("%s: %s; serving [%s], every request counts as a contract breach", self.name, reason, models)
            return Selection(tuple(m for m, _ in fallback.members), reason)
        except RoheError as exc:
            log.warning("%s cannot serve %r: %s", self.name, contract.consumer, exc)
            return Selection((), str(exc))
        return Selection(tuple(catalog.require_model(m.model, "ensemble") for m in choice.members))
