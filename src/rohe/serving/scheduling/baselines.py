"""Reference schedulers for experiments: single best, every model, random, and the ground-truth oracle."""

from __future__ import annotations

import numpy as np

from rohe.core.errors import InvalidInput, Problem
from rohe.serving.scheduling.base import ExecutionPlan, RequestContext, feasible, make_plan


class SingleBest:
    """The single most accurate model that fits the deadline."""

    name = "single-best"

    def plan(self, request: RequestContext) -> ExecutionPlan:
        view = request.consumer.view(request.node_types)
        ok = np.flatnonzero(feasible(view, request.remaining_ms))
        chosen = ok[np.argsort(-view.accuracy[ok], kind="stable")][:1]
        return make_plan(self.name, request, view, chosen)


class Fastest:
    """The single model with the lowest p99 that fits the deadline (cheaper per request on a tie): what a
    degraded consumer gets, trading accuracy for latency and cost."""

    name = "fastest"

    def plan(self, request: RequestContext) -> ExecutionPlan:
        view = request.consumer.view(request.node_types)
        ok = np.flatnonzero(feasible(view, request.remaining_ms))
        chosen = ok[np.lexsort((view.cost[ok], view.p99[ok]))][:1]
        return make_plan(self.name, request, view, chosen)


class AllModels:
    """Every usable model, deliberately ignoring the deadline and the ensemble maximum (an upper bound on
    accuracy and cost); budgets are still shared so they sum to at most the remaining deadline."""

    name = "all-models"

    def plan(self, request: RequestContext) -> ExecutionPlan:
        view = request.consumer.view(request.node_types)
        return make_plan(self.name, request, view, np.flatnonzero(view.usable))


class RandomSubset:
    """A uniformly random feasible subset whose size is drawn from the contract's min..max (seeded by the
    request's rng); fewer feasible models than the drawn size gives all of them."""

    name = "random"

    def plan(self, request: RequestContext) -> ExecutionPlan:
        consumer = request.consumer
        view = consumer.view(request.node_types)
        ok = np.flatnonzero(feasible(view, request.remaining_ms))
        size = int(request.rng.integers(consumer.ensemble_min, consumer.ensemble_max + 1))
        chosen = request.rng.permutation(ok)[:size]
        return make_plan(self.name, request, view, chosen)


class Oracle:
    """The feasible models most accurate on the request's true class, up to the ensemble maximum.

    Experiments only: it reads the ground truth, which a real request never carries.
    """

    name = "oracle"

    def plan(self, request: RequestContext) -> ExecutionPlan:
        consumer = request.consumer
        if request.ground_truth is None:
            raise InvalidInput(
                "the oracle needs the true class",
                [Problem("ground_truth", "is missing", "set it (experiments only) or pick another scheduler")],
            )
        column = consumer.catalog.class_index(request.ground_truth, "ground_truth")
        view = consumer.view(request.node_types)
        ok = np.flatnonzero(feasible(view, request.remaining_ms))
        chosen = ok[np.argsort(-view.class_accuracy[ok, column], kind="stable")][: consumer.ensemble_max]
        return make_plan(self.name, request, view, chosen)
