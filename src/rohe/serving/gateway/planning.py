"""One request's per-modality work inside the gateway: split the time left over the modalities, ask the
scheduler for each modality's plan, wait for a dispatch slot, and run the plans.

A modality whose plan could not be made (no usable model, the deadline already gone, a plug-in's bug) is
carried as a plan of None with its error, so the request still ends as an answer naming it, never as a 500.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import numpy as np

from rohe.core.errors import RoheError
from rohe.serving.dataplane import Aggregator, FanoutClient
from rohe.serving.gateway.admission import PriorityGate
from rohe.serving.gateway.consumers import ConsumerServing, ModalityServing
from rohe.serving.gateway.schema import InferRequest
from rohe.serving.pipeline import ModalityResult, execute_plan, modality_budgets
from rohe.serving.scheduling import ExecutionPlan, RequestContext, RequestScheduler

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModalityPlan:
    modality: str
    serving: ModalityServing
    features: list[float]
    budget_ms: float
    plan: ExecutionPlan | None
    scheduler: str
    error: str | None = None


def _plan_one(
    scheduler: RequestScheduler,
    serving: ModalityServing,
    budget_ms: float,
    request: InferRequest,
    oldest_waiting_ms: float,
    rng: np.random.Generator,
) -> tuple[ExecutionPlan | None, str | None]:
    if serving.prepared is None:
        return None, f"consumer {request.consumer!r} may use no model of modality {serving.modality!r}"
    context = RequestContext(
        serving.prepared, budget_ms, rng, ground_truth=request.ground_truth, oldest_waiting_ms=oldest_waiting_ms
    )
    try:
        return scheduler.plan(context), None
    except RoheError:
        raise
    except Exception as exc:  # a plug-in's bug must end this request with an error, not the gateway
        log.exception("scheduler %s failed", scheduler.name)
        return None, f"scheduler {scheduler.name!r} failed: {exc!r}"[:300]


def plan_modalities(
    scheduler: RequestScheduler,
    algorithm: str,
    serving: ConsumerServing,
    features: Mapping[str, list[float]],
    request: InferRequest,
    *,
    deadline_ms: float,
    remaining_ms: float,
    oldest_waiting_ms: Callable[[], float],
    rng: np.random.Generator,
) -> list[ModalityPlan]:
    """Every modality's plan within its share of `remaining_ms` (they run concurrently)."""
    if remaining_ms <= 0:
        passed = f"the deadline ({deadline_ms:.1f} ms) passed before scheduling"
        return [ModalityPlan(m, serving.modalities[m], s, 0.0, None, algorithm, passed) for m, s in features.items()]
    needs = {m: serving.modalities[m].need for m in features}
    budgets = modality_budgets(remaining_ms, needs, serving.contract.modality_budgets)
    waited = oldest_waiting_ms()
    planned = []
    for modality, sample in features.items():
        modality_serving = serving.modalities[modality]
        plan, error = _plan_one(scheduler, modality_serving, budgets[modality], request, waited, rng)
        planned.append(ModalityPlan(modality, modality_serving, sample, budgets[modality], plan, algorithm, error))
    return planned


async def admit(gate: PriorityGate, planned: list[ModalityPlan], left_ms: float) -> tuple[list[ModalityPlan], bool]:
    """Wait for a dispatch slot; the wait comes out of every modality's budget (they run concurrently)."""
    if not any(p.plan is not None for p in planned):
        return planned, False
    priority = max(p.plan.priority for p in planned if p.plan is not None)
    started = time.perf_counter()
    if not await gate.acquire(priority, left_ms / 1000):
        error = f"no dispatch slot within the deadline ({gate.capacity} requests were in flight)"
        return [replace(p, plan=None, error=error) for p in planned], False
    waited_ms = (time.perf_counter() - started) * 1000
    if gate.capacity is None:  # nothing to wait for: keep the budgets exact
        return planned, True
    late = "the deadline passed while the request waited for a dispatch slot"
    return [
        replace(p, budget_ms=p.budget_ms - waited_ms)
        if p.budget_ms > waited_ms
        else replace(p, plan=None, error=p.error or late)
        for p in planned
    ], True


async def execute(
    client: FanoutClient, planned: ModalityPlan, request_id: str, aggregators: Mapping[str, Aggregator]
) -> ModalityResult:
    if planned.plan is None:
        return ModalityResult(
            planned.modality, planned.scheduler, planned.budget_ms, 0, (), (), None, 0.0, 0.0, 0.0, planned.error
        )
    return await execute_plan(
        client,
        modality=planned.modality,
        plan=planned.plan,
        request_id=request_id,
        features=planned.features,
        budget_ms=planned.budget_ms,
        aggregator=aggregators[planned.modality],
        cost_of=planned.serving.cost_of,
    )
