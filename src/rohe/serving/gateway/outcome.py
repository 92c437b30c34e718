"""How a request ended, from its modalities' results: ok, partial or error, and the answer that says so."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from rohe.serving.dataplane import AggregatedPrediction, MemberStatus
from rohe.serving.gateway.schema import InferResponse, ModalityAnswer, Timings
from rohe.serving.pipeline import ModalityResult

Status = Literal["ok", "partial", "error"]


def modality_status(result: ModalityResult) -> Status:
    if result.prediction is None:
        return "error"
    if any(o.status is not MemberStatus.ANSWERED for o in result.outcomes):
        return "partial"
    return "ok"


def overall_status(results: Sequence[ModalityResult], fused: AggregatedPrediction | None) -> Status:
    """error when nothing answered; partial when an answer exists but a member or a modality is missing."""
    if fused is None:
        return "error"
    if all(modality_status(r) == "ok" for r in results):
        return "ok"
    return "partial"


def modality_answer(result: ModalityResult) -> ModalityAnswer:
    prediction = result.prediction
    return ModalityAnswer(
        status=modality_status(result),
        scheduler=result.scheduler,
        predicted_class=prediction.predicted_class if prediction else None,
        confidence=prediction.confidence if prediction else None,
        answered=list(result.models_with(MemberStatus.ANSWERED)),
        late=list(result.models_with(MemberStatus.LATE)),
        failed=list(result.models_with(MemberStatus.FAILED)),
        phases=result.phases,
        ensemble_size=len(result.outcomes),
        cost=result.cost,
        budget_ms=result.budget_ms,
        error=result.error,
        breach=result.breach,
    )


def build_response(
    request_id: str,
    consumer: str,
    algorithm: str,
    degraded: bool,
    deadline_ms: float,
    results: Sequence[ModalityResult],
    fused: AggregatedPrediction | None,
    timings: Timings,
    priority: float = 0.0,
) -> InferResponse:
    status = overall_status(results, fused)
    errors = [f"{r.modality}: {r.error}" for r in results if r.error]
    return InferResponse(
        request_id=request_id,
        consumer=consumer,
        algorithm=algorithm,
        status=status,
        predicted_class=fused.predicted_class if fused else None,
        confidence=fused.confidence if fused else None,
        answered=[m for r in results for m in r.models_with(MemberStatus.ANSWERED)],
        late=[m for r in results for m in r.models_with(MemberStatus.LATE)],
        failed=[m for r in results for m in r.models_with(MemberStatus.FAILED)],
        phases=max((r.phases for r in results), default=0),
        ensemble_size=sum(len(r.outcomes) for r in results),
        cost=sum(r.cost for r in results),
        deadline_ms=deadline_ms,
        deadline_missed=timings.total > deadline_ms,
        degraded=degraded,
        priority=priority,
        timings_ms=timings,
        modalities={r.modality: modality_answer(r) for r in results},
        error="; ".join(errors) if status == "error" else None,
        breach="; ".join(f"{r.modality}: {r.breach}" for r in results if r.breach) or None,
    )
