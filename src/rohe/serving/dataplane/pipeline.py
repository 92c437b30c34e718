"""One inference request end to end: fan out to the members, aggregate, time each stage."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from rohe.serving.dataplane.aggregation import AggregatedPrediction, Aggregator, make_aggregator
from rohe.serving.dataplane.fanout import FanoutClient, MemberOutcome, MemberStatus
from rohe.serving.dataplane.feedback import FeedbackRecord, FeedbackStore, ServedPrediction


class ResponseStatus(StrEnum):
    OK = "ok"
    ERROR = "error"


@dataclass(frozen=True)
class StageTimings:
    fanout_ms: float
    aggregation_ms: float
    total_ms: float


@dataclass(frozen=True)
class InferenceResponse:
    """`prediction` is None exactly when `status` is ERROR (no member answered); `error` then says why."""

    request_id: str
    status: ResponseStatus
    prediction: AggregatedPrediction | None
    answered: tuple[str, ...]
    late: tuple[str, ...]
    failed: tuple[str, ...]
    outcomes: tuple[MemberOutcome, ...]
    timings: StageTimings
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is ResponseStatus.OK


class InferencePipeline:
    """`model_weights` (e.g. profiled accuracy per model) feed the `weighted` strategy when it is chosen
    by name; without them, `weighted` weighs each vote by the member's confidence."""

    def __init__(
        self,
        fanout: FanoutClient,
        *,
        model_weights: Mapping[str, float] | None = None,
        feedback: FeedbackStore | None = None,
    ) -> None:
        self.fanout = fanout
        self.model_weights = dict(model_weights) if model_weights is not None else None
        self.feedback = feedback or FeedbackStore()
        self._aggregators: dict[str, Aggregator] = {}

    def _aggregator(self, aggregation: str | Aggregator) -> Aggregator:
        if not isinstance(aggregation, str):
            return aggregation
        if aggregation not in self._aggregators:
            self._aggregators[aggregation] = make_aggregator(aggregation, self.model_weights)
        return self._aggregators[aggregation]

    async def infer(
        self,
        request_id: str,
        input: Sequence[float],
        members: Sequence[str],
        aggregation: str | Aggregator,
        deadline_ms: float,
    ) -> InferenceResponse:
        """Bad arguments raise InvalidInput / NotFound; members that are late or failing never raise,
        they are reported, and a request no member answered comes back with status ERROR."""
        started = time.perf_counter()
        aggregator = self._aggregator(aggregation)  # an unknown strategy fails before any request leaves
        fanned = await self.fanout.fan_out(request_id, input, members, deadline_ms)
        fanned_at = time.perf_counter()
        prediction = aggregator.aggregate(fanned.predictions) if fanned.any_answered else None
        finished = time.perf_counter()
        timings = StageTimings(
            fanout_ms=(fanned_at - started) * 1000,
            aggregation_ms=(finished - fanned_at) * 1000,
            total_ms=(finished - started) * 1000,
        )
        error = None
        if prediction is None:
            error = "no member answered: " + "; ".join(
                f"{o.model} {o.status.value} ({o.error})" for o in fanned.outcomes
            )
        else:
            self.feedback.remember(
                ServedPrediction(
                    request_id,
                    aggregator.name,
                    prediction.predicted_class,
                    tuple((p.model, p.predicted_class) for p in fanned.predictions),
                )
            )
        return InferenceResponse(
            request_id=request_id,
            status=ResponseStatus.OK if prediction is not None else ResponseStatus.ERROR,
            prediction=prediction,
            answered=fanned.models_with(MemberStatus.ANSWERED),
            late=fanned.models_with(MemberStatus.LATE),
            failed=fanned.models_with(MemberStatus.FAILED),
            outcomes=fanned.outcomes,
            timings=timings,
            error=error,
        )

    def record_feedback(self, request_id: str, true_class: int) -> FeedbackRecord:
        return self.feedback.record(request_id, true_class)

    def accuracy(self) -> float | None:
        return self.feedback.accuracy()
