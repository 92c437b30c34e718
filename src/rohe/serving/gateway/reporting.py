"""Turning one served request into observation Reports (docs/serving-gateway.md, "Reports"):
one aggregated REQUEST report, one member REQUEST report per member asked, one FEEDBACK report per label."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from rohe.observation.reports import Report, ReportKind, RequestStatus
from rohe.serving.dataplane import MemberOutcome, MemberPrediction, MemberStatus
from rohe.serving.gateway.schema import InferResponse
from rohe.serving.pipeline import ModalityResult

log = logging.getLogger(__name__)


class ReportSink(Protocol):
    def submit(self, report: Report) -> None: ...  # never blocks, never raises on transport trouble


class ReportContext(Protocol):
    app: str
    run: str
    service: str
    node: str | None


def _member_report(
    where: ReportContext,
    response: InferResponse,
    modality: str,
    outcome: MemberOutcome,
    prediction: MemberPrediction | None,
) -> Report:
    base = {
        "app": where.app,
        "run": where.run,
        "kind": ReportKind.REQUEST,
        "consumer": response.consumer,
        "service": where.service,
        "node": where.node,
        "request_id": response.request_id,
        "model_id": outcome.model,
        "attributes": {"modality": modality, "algorithm": response.algorithm, "outcome": outcome.status.value},
    }
    if outcome.status is not MemberStatus.ANSWERED or prediction is None:
        return Report.model_validate({**base, "status": RequestStatus.ERROR, "late": [outcome.model]})
    # Its own argmax, so per-model accuracy judges the model, not the ensemble it sat in.
    best = max(range(len(prediction.probabilities)), key=lambda c: (prediction.probabilities[c], -c))
    inference = outcome.inference_ms if outcome.inference_ms is not None else outcome.latency_ms
    return Report.model_validate(
        {
            **base,
            "status": RequestStatus.OK,
            "members": [outcome.model],
            "predicted_class": str(best),
            "confidence": min(1.0, max(0.0, prediction.probabilities[best])),
            "stage_latency_ms": {"inference": inference},
            "end_to_end_ms": outcome.latency_ms,
        }
    )


def request_reports(where: ReportContext, response: InferResponse, results: Sequence[ModalityResult]) -> list[Report]:
    t = response.timings_ms
    aggregated = Report(
        app=where.app,
        run=where.run,
        kind=ReportKind.REQUEST,
        consumer=response.consumer,
        service=where.service,
        node=where.node,
        request_id=response.request_id,
        model_id=None,
        status=RequestStatus(response.status),
        members=list(response.answered),
        late=[*response.late, *response.failed],
        cost=response.cost,
        predicted_class=str(response.predicted_class) if response.predicted_class is not None else None,
        confidence=min(1.0, max(0.0, response.confidence)) if response.confidence is not None else None,
        end_to_end_ms=t.total,
        stage_latency_ms={
            "scheduling": t.scheduling,
            "preprocessing": t.preprocessing,
            "queueing": t.queueing,
            "fanout": t.fanout,
            "aggregation": t.aggregation,
        },
        attributes={
            "algorithm": response.algorithm,
            "ensemble_size": str(response.ensemble_size),
            "phases": str(response.phases),
            "deadline_missed": str(response.deadline_missed).lower(),
            "degraded": str(response.degraded).lower(),
            "priority": f"{response.priority:.6g}",
            "modalities": ",".join(sorted(response.modalities)),
        },
    )
    reports = [aggregated]
    for result in results:
        by_model = {p.model: p for p in result.predictions}
        reports.extend(
            _member_report(where, response, result.modality, o, by_model.get(o.model)) for o in result.outcomes
        )
    return reports


def feedback_report(where: ReportContext, consumer: str, request_id: str, true_class: int) -> Report:
    return Report(
        app=where.app,
        run=where.run,
        kind=ReportKind.FEEDBACK,
        consumer=consumer,
        service=where.service,
        node=where.node,
        request_id=request_id,
        true_class=str(true_class),
    )


def submit_all(sink: ReportSink | None, reports: Sequence[Report]) -> None:
    """Observation must never break serving: a sink that raises despite its contract is logged and skipped."""
    if sink is None:
        return
    for report in reports:
        try:
            sink.submit(report)
        except Exception:
            log.exception("report sink %r failed; report dropped", sink)
