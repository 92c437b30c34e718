"""Deadline-aware schedulers: adaptive two-phase escalation, DREAM-style urgency, and least laxity first."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rohe.serving.dataplane import MemberPrediction
from rohe.serving.scheduling.base import (
    ExecutionPlan,
    IntArray,
    ModelView,
    PreparedConsumer,
    RequestContext,
    feasible,
    make_plan,
)


@dataclass(frozen=True)
class Escalation:
    """Phase-1 rule of `adaptive`: add class specialists only when phase 0 is unsure."""

    consumer: PreparedConsumer
    view: ModelView
    phase0: frozenset[int]
    time_left_ms: float
    slots: int

    def after(self, phase0_predictions: list[MemberPrediction]) -> list[str]:
        if not phase0_predictions or self.slots <= 0:
            return []
        votes = {p.predicted_class for p in phase0_predictions}
        surest = max(p.confidence for p in phase0_predictions)
        if len(votes) == 1 and surest >= self.consumer.confidence_threshold:
            return []
        width = max(len(p.probabilities) for p in phase0_predictions)
        summed = np.zeros(width)
        for p in phase0_predictions:
            summed[: len(p.probabilities)] += p.probabilities
        # Probability index i is class id i; classes the catalog has no profile for cannot guide the choice.
        top = [int(c) for c in np.argsort(-summed, kind="stable")[:2] if int(c) in self.consumer.class_position]
        if not top:
            return []
        columns = [self.consumer.class_position[c] for c in top]
        score = self.view.class_accuracy[:, columns].mean(axis=1)
        candidates = feasible(self.view, self.time_left_ms)
        candidates[list(self.phase0)] = False
        ranked = np.flatnonzero(candidates)
        ranked = ranked[np.argsort(-score[ranked], kind="stable")][: self.slots]
        return [self.consumer.catalog.models[m] for m in ranked.tolist()]


class Adaptive:
    """Cheapest ensemble of the contract's minimum size first; escalate on disagreement or low confidence."""

    name = "adaptive"

    def plan(self, request: RequestContext) -> ExecutionPlan:
        consumer = request.consumer
        view = consumer.view(request.node_types)
        ok = np.flatnonzero(feasible(view, request.remaining_ms))
        # Cheapest by per-request cost, then by p99 latency, then catalog order.
        order = ok[np.lexsort((view.p99[ok], view.cost[ok]))]
        chosen = order[: consumer.ensemble_min]
        plan = make_plan(self.name, request, view, chosen)
        spent = max((t.budget_ms for t in plan.phase0), default=0.0)
        rule = Escalation(
            consumer,
            view,
            frozenset(chosen.tolist()),
            request.remaining_ms - spent,
            consumer.ensemble_max - len(chosen),
        )
        return ExecutionPlan(plan.scheduler, plan.phase0, rule, plan.priority)


class Dream:
    """Keep the most accurate feasible members, dispatch the most urgent first, and raise the priority of
    consumers whose requests have waited long (so no consumer starves behind urgent neighbours).

    urgency = p99 / slack with slack = remaining - p99; the plan priority is the largest member urgency plus
    the oldest waiting age in units of the remaining deadline.
    """

    name = "dream"

    def plan(self, request: RequestContext) -> ExecutionPlan:
        consumer = request.consumer
        view = consumer.view(request.node_types)
        ok = np.flatnonzero(feasible(view, request.remaining_ms))
        kept = ok[np.argsort(-view.accuracy[ok], kind="stable")][: consumer.ensemble_max]
        need = view.p99[kept]
        slack = np.maximum(request.remaining_ms - need, 1e-9)
        urgency = need / slack
        ordered: IntArray = kept[np.argsort(-urgency, kind="stable")]
        starvation = request.oldest_waiting_ms / request.remaining_ms
        priority = float(urgency.max(initial=0.0)) + starvation
        return make_plan(self.name, request, view, ordered, priority=priority)


class LeastLaxityFirst:
    """Model tasks in increasing laxity (remaining - p99); negative laxity is dropped, the list cut at max.

    The cut keeps the tasks with the least laxity, i.e. the ones that must start now; it favours slow models
    and is meant as a scheduling baseline rather than an accuracy-seeking selector.
    """

    name = "llf"

    def plan(self, request: RequestContext) -> ExecutionPlan:
        view = request.consumer.view(request.node_types)
        laxity = request.remaining_ms - view.p99
        ok = np.flatnonzero(view.usable & (laxity >= 0))
        ordered = ok[np.argsort(laxity[ok], kind="stable")][: request.consumer.ensemble_max]
        least = float(laxity[ordered].min()) if len(ordered) else request.remaining_ms
        return make_plan(self.name, request, view, ordered, priority=-least)
