"""Running one modality of one request: phase 0 as planned, then phase 1 only if the plan's rule asks for it
and time is left, and the members' answers fused with the modality's aggregation strategy."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rohe.serving.dataplane import (
    AggregatedPrediction,
    Aggregator,
    FanoutClient,
    MemberOutcome,
    MemberPrediction,
    MemberStatus,
)
from rohe.serving.pipeline.budgets import PHASES_PROVISIONED
from rohe.serving.scheduling import ExecutionPlan

# Below this, a phase-1 request could not even cross loopback and back; skip it instead of timing out.
MIN_PHASE_MS = 1.0


@dataclass(frozen=True)
class ModalityResult:
    """What one modality produced. `prediction` is None when no member answered (`error` says why)."""

    modality: str
    scheduler: str
    budget_ms: float
    phases: int
    outcomes: tuple[MemberOutcome, ...]
    predictions: tuple[MemberPrediction, ...]
    prediction: AggregatedPrediction | None
    cost: float
    fanout_ms: float
    aggregation_ms: float
    error: str | None = None
    breach: str | None = None  # the plan knowingly breaches the contract (a scheduler's best-effort fallback)

    def models_with(self, status: MemberStatus) -> tuple[str, ...]:
        return tuple(o.model for o in self.outcomes if o.status is status)

    @property
    def dispatched(self) -> tuple[str, ...]:
        return tuple(o.model for o in self.outcomes)


def phase0_deadline(plan: ExecutionPlan, budget_ms: float) -> float:
    """The whole budget without a phase-1 rule; otherwise at most max(members' budgets, budget / 2), so a
    straggler in phase 0 cannot eat the time the escalation needs."""
    if plan.phase1 is None:
        return budget_ms
    spent = max((t.budget_ms for t in plan.phase0), default=0.0)
    return min(budget_ms, max(spent, budget_ms / PHASES_PROVISIONED))


def _no_answer(outcomes: Sequence[MemberOutcome]) -> str:
    return "no member answered: " + "; ".join(f"{o.model} {o.status.value} ({o.error})" for o in outcomes)


async def execute_plan(
    fanout: FanoutClient,
    *,
    modality: str,
    plan: ExecutionPlan,
    request_id: str,
    features: Sequence[float],
    budget_ms: float,
    aggregator: Aggregator,
    cost_of: Mapping[str, float],
) -> ModalityResult:
    """Members that are late or failing are reported, never raised; an empty plan is an explicit error."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    if not plan.phase0:
        return ModalityResult(
            modality,
            plan.scheduler,
            budget_ms,
            0,
            (),
            (),
            None,
            0.0,
            0.0,
            0.0,
            f"no model of modality {modality!r} can answer within {budget_ms:.1f} ms",
        )
    first = await fanout.fan_out(request_id, features, plan.members, phase0_deadline(plan, budget_ms))
    outcomes = list(first.outcomes)
    predictions = list(first.predictions)
    phases = 1
    left_ms = budget_ms - (loop.time() - started) * 1000
    if plan.phase1 is not None and left_ms >= MIN_PHASE_MS:
        asked = {o.model for o in outcomes}
        extra = [m for m in plan.phase1.after(list(predictions)) if m not in asked]
        if extra:
            second = await fanout.fan_out(request_id, features, extra, left_ms)
            outcomes.extend(second.outcomes)
            predictions.extend(second.predictions)
            phases = 2
    fanned = time.perf_counter()
    fanout_ms = (loop.time() - started) * 1000
    prediction = aggregator.aggregate(predictions) if predictions else None
    aggregation_ms = (time.perf_counter() - fanned) * 1000
    cost = math.fsum(cost_of.get(o.model, 0.0) for o in outcomes)
    return ModalityResult(
        modality=modality,
        scheduler=plan.scheduler,
        budget_ms=budget_ms,
        phases=phases,
        outcomes=tuple(outcomes),
        predictions=tuple(predictions),
        prediction=prediction,
        cost=cost,
        fanout_ms=fanout_ms,
        aggregation_ms=aggregation_ms,
        error=None if prediction is not None else _no_answer(outcomes),
        breach=plan.breach,
    )
