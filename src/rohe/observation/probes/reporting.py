"""Building reports by the report convention (aggregated request, member, feedback) from a scope and an origin."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rohe.observation.probes.scope import ReportOrigin, current_scope
from rohe.observation.reports import Report, ReportKind, RequestStatus


def request_report(origin: ReportOrigin, *, request_id: str | None = None, consumer: str | None = None,
                   status: RequestStatus | str | None = None, predicted_class: object | None = None,
                   confidence: float | None = None, members: Iterable[str] = (), late: Iterable[str] = (),
                   cost: float | None = None, end_to_end_ms: float | None = None,
                   stage_latency_ms: Mapping[str, float] | None = None, attributes: Mapping[str, object] | None = None,
                   model_id: str | None = None) -> Report:
    """A REQUEST report. Values not given come from the open request scope (its stage timings, the fields set
    with `annotate`, and its elapsed time as end_to_end_ms); explicit values win."""
    scope = current_scope()
    fields: dict[str, Any] = dict(scope.fields) if scope is not None else {}
    stages = {**(scope.stages if scope is not None else {}), **(stage_latency_ms or {})}
    labels = {**(scope.attributes if scope is not None else {}), **{k: str(v) for k, v in (attributes or {}).items()}}
    members, late = list(members), list(late)
    if status is None:
        status = fields.get("status") or (RequestStatus.PARTIAL if late and members else RequestStatus.OK)
    if end_to_end_ms is None and scope is not None and model_id is None and fields.get("model_id") is None:
        end_to_end_ms = scope.elapsed_ms()
    predicted = predicted_class if predicted_class is not None else fields.get("predicted_class")
    return Report(
        app=origin.app, run=origin.run, kind=ReportKind.REQUEST, service=origin.service, node=origin.node,
        request_id=request_id or _text(fields.get("request_id")), consumer=consumer or _text(fields.get("consumer")),
        model_id=model_id or _text(fields.get("model_id")), status=RequestStatus(status),
        predicted_class=_text(predicted), confidence=confidence if confidence is not None else fields.get("confidence"),
        members=members, late=late, cost=cost if cost is not None else fields.get("cost"),
        end_to_end_ms=end_to_end_ms, stage_latency_ms=stages, attributes=labels)


def member_report(origin: ReportOrigin, model_id: str, *, request_id: str | None, consumer: str | None = None,
                  predicted_class: object | None = None, confidence: float | None = None,
                  inference_ms: float | None = None, answered: bool = True,
                  attributes: Mapping[str, object] | None = None) -> Report:
    """One ensemble member's part in a request: its own prediction and inference time, or status error when it
    was late or failed."""
    return Report(
        app=origin.app, run=origin.run, kind=ReportKind.REQUEST, service=origin.service, node=origin.node,
        request_id=request_id, consumer=consumer, model_id=model_id,
        status=RequestStatus.OK if answered else RequestStatus.ERROR,
        predicted_class=_text(predicted_class) if answered else None, confidence=confidence if answered else None,
        stage_latency_ms={"inference": inference_ms} if inference_ms is not None else {},
        attributes={k: str(v) for k, v in (attributes or {}).items()})


def feedback_report(origin: ReportOrigin, request_id: str, true_class: object, consumer: str | None = None) -> Report:
    """Ground truth for an earlier request; the agent joins it to that request's predictions by request_id."""
    return Report(app=origin.app, run=origin.run, kind=ReportKind.FEEDBACK, service=origin.service,
                  node=origin.node, request_id=request_id, consumer=consumer, true_class=str(true_class))


def _text(value: object | None) -> str | None:
    return None if value is None else str(value)
