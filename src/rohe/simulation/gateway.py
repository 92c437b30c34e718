"""The simulated gateway's decisions, made by the live gateway's own code: the consumer is prepared with
`rohe.serving.scheduling.prepare`, every request is planned by the named scheduler's real `plan`, phase 0's
deadline comes from `rohe.serving.pipeline.execution.phase0_deadline`, escalation from the plan's real
phase-1 rule, and answers are fused by `rohe.serving.dataplane.aggregation`. Only time is simulated.

Calls are memoised where the live code is a pure function of its arguments, because a million requests would
otherwise spend most of their time repeating identical NumPy work:
- plans of the built-in schedulers that read nothing but the time left (and, for the oracle, the true class);
  `random`, `dream` (it reads the waiting age) and plug-ins are planned afresh for every request;
- a phase-1 rule's answer and an aggregation, per exact tuple of member predictions (both are pure).
Member predictions are interned (one object per model and vector), so those memos key on object ids; the
interning table and both memos are cleared together, which keeps every id in a key alive and unambiguous.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from rohe.core.contracts import ConsumerContract
from rohe.core.profiles import ProfileCatalog
from rohe.serving.dataplane import AggregatedPrediction, MemberPrediction, accuracy_weights, make_aggregator
from rohe.serving.pipeline.execution import MIN_PHASE_MS, phase0_deadline
from rohe.serving.scheduling import ExecutionPlan, Phase1Rule, RequestContext, get_scheduler, prepare
from rohe.simulation.behaviour import FloatArray

# Built-in schedulers whose plan depends only on the time left (and the oracle's on the true class too).
PURE_SCHEDULERS = frozenset({"adaptive", "single-best", "fastest", "all-models", "llf", "rohe-ensemble"})
ORACLE = "oracle"
_MEMO_LIMIT = 200_000

__all__ = ["MIN_PHASE_MS", "SimGateway"]


class SimGateway:
    """One consumer's serving decisions for a run (single modality, as the simulated pipelines are)."""

    def __init__(
        self,
        contract: ConsumerContract,
        catalog: ProfileCatalog,
        scheduler: str,
        aggregation: str,
        rng: np.random.Generator,
    ) -> None:
        self.consumer = contract.consumer
        self.prepared = prepare(contract, catalog)
        self.scheduler = get_scheduler(scheduler)
        self.scheduler_name = scheduler
        weights = accuracy_weights(catalog.profiles) if aggregation == "weighted" else None
        self.aggregator = make_aggregator(aggregation, weights)
        self.rng = rng
        view = self.prepared.view(None)
        self.cost_of = {catalog.models[i]: float(view.cost[i]) for i in np.flatnonzero(view.usable).tolist()}
        self._plans: dict[tuple[float, int | None], ExecutionPlan] = {}
        # Keyed by the rule's id; the entry keeps the rule itself so a recycled id can never match.
        self._escalations: dict[tuple[int, tuple[int, ...]], tuple[Phase1Rule, list[str]]] = {}
        self._aggregated: dict[tuple[int, ...], AggregatedPrediction] = {}
        self._members: dict[tuple[str, bytes], MemberPrediction] = {}
        self._by_array: dict[int, tuple[FloatArray, MemberPrediction]] = {}
        self._costs: dict[tuple[str, ...], float] = {}
        self._phase0: tuple[ExecutionPlan, float, float] | None = None

    def plan(self, remaining_ms: float, true_class: int, oldest_waiting_ms: float) -> ExecutionPlan:
        name = self.scheduler_name
        key: tuple[float, int | None] | None = None
        if name in PURE_SCHEDULERS:
            key = (remaining_ms, None)
        elif name == ORACLE:
            key = (remaining_ms, true_class)
        if key is not None:
            cached = self._plans.get(key)
            if cached is not None:
                return cached
        context = RequestContext(
            self.prepared, remaining_ms, self.rng, ground_truth=true_class, oldest_waiting_ms=oldest_waiting_ms
        )
        plan = self.scheduler.plan(context)
        if key is not None:
            if len(self._plans) >= _MEMO_LIMIT:
                self._plans.clear()
            self._plans[key] = plan
        return plan

    def phase0_ms(self, plan: ExecutionPlan, budget_ms: float) -> float:
        """Phase 0's deadline (pipeline.execution.phase0_deadline), remembered for the last plan and budget."""
        last = self._phase0
        if last is not None and last[0] is plan and last[1] == budget_ms:
            return last[2]
        value = phase0_deadline(plan, budget_ms)
        self._phase0 = (plan, budget_ms, value)
        return value

    def escalate(self, plan: ExecutionPlan, predictions: Sequence[MemberPrediction], asked: Sequence[str]) -> list[str]:
        """Phase-1 members the plan's rule adds after phase 0, without the models already asked."""
        rule = plan.phase1
        if rule is None:
            return []
        key = (id(rule), tuple(map(id, predictions)))
        cached = self._escalations.get(key)
        if cached is not None and cached[0] is rule:
            extra = cached[1]
        else:
            extra = rule.after(list(predictions))
            if len(self._escalations) >= _MEMO_LIMIT:
                self._escalations.clear()
            self._escalations[key] = (rule, extra)
        return [m for m in extra if m not in asked]

    def member(self, model: str, probabilities: FloatArray) -> MemberPrediction:
        """What the live fan-out builds from a model's reply: its vector, argmax and the argmax's probability."""
        # Fast path: the very array object seen before (profile-based models hand out cached vectors). The
        # entry holds that array, so its id cannot be reused by another object while the entry exists.
        seen = self._by_array.get(id(probabilities))
        if seen is not None and seen[0] is probabilities and seen[1].model == model:
            return seen[1]
        key = (model, probabilities.tobytes())
        cached = self._members.get(key)
        if cached is None:
            best = int(np.argmax(probabilities))
            cached = MemberPrediction(model, tuple(probabilities.tolist()), best, float(probabilities[best]))
            if len(self._members) >= _MEMO_LIMIT:
                self._members.clear()
                self._by_array.clear()
                self._aggregated.clear()
                self._escalations.clear()
            self._members[key] = cached
        if len(self._by_array) >= _MEMO_LIMIT:
            self._by_array.clear()
        self._by_array[id(probabilities)] = (probabilities, cached)
        return cached

    def aggregate(self, predictions: Sequence[MemberPrediction]) -> AggregatedPrediction:
        key = tuple(map(id, predictions))
        cached = self._aggregated.get(key)
        if cached is None:
            if len(self._aggregated) >= _MEMO_LIMIT:
                self._aggregated.clear()
            cached = self._aggregated[key] = self.aggregator.aggregate(predictions)
        return cached

    def cost(self, models: tuple[str, ...]) -> float:
        """What the gateway bills for sending `models`: their per-request costs, summed exactly."""
        cost = self._costs.get(models)
        if cost is None:
            if len(self._costs) >= _MEMO_LIMIT:
                self._costs.clear()
            cost = self._costs[models] = math.fsum(self.cost_of.get(m, 0.0) for m in models)
        return cost
