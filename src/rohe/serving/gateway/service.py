"""The serving gateway: one request in, per modality preprocess -> schedule -> fan out (phase 0, maybe
phase 1) -> aggregate, then fuse the modalities, answer, and report what happened.

Every request ends as a result (ok), a partial result (some member late or failed) or an explicit error (no
member answered: status error, served as HTTP 503); bad requests raise InvalidInput / NotFound (4xx).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from rohe.core.contracts import ConsumerContract
from rohe.core.errors import NotFound, Problem, RoheError
from rohe.core.profiles import ProfileCatalog
from rohe.serving.dataplane import (
    AggregatedPrediction,
    Aggregator,
    FanoutClient,
    FeedbackStore,
    MemberPrediction,
    ModelEndpoints,
    ServedPrediction,
    make_aggregator,
)
from rohe.serving.gateway.admission import PriorityGate
from rohe.serving.gateway.consumers import (
    ConsumerServing,
    prepare_consumers,
    refresh_consumers,
    with_exclusions,
)
from rohe.serving.gateway.inputs import request_samples
from rohe.serving.gateway.outcome import build_response
from rohe.serving.gateway.planning import admit, execute, plan_modalities
from rohe.serving.gateway.reporting import ReportSink, feedback_report, request_reports, submit_all
from rohe.serving.gateway.schema import InferRequest, InferResponse, PolicyState, StatsResponse, Timings
from rohe.serving.gateway.stats import GatewayStats
from rohe.serving.gateway.waiting import WaitingRequests
from rohe.serving.pipeline import (
    ModalityResult,
    PipelineSpec,
    Preprocess,
    resolve_preprocessors,
    run_preprocessing,
)
from rohe.serving.scheduling import RequestScheduler, available_schedulers, get_scheduler

log = logging.getLogger(__name__)

DEFAULT_DEADLINE_MS = 1000.0  # for a contract without a deadline and a request that names none
DEGRADED_ALGORITHM = "fastest"


class ServingGateway:
    """Built once from the pipeline spec, the profiles, the consumers' contracts and where the models listen.

    `plugins` are extra scheduler names (dotted paths or entry points) requests may ask for; request-level
    names are otherwise limited to the installed schedulers, so a request can never make the gateway import
    an arbitrary module. `preprocessors` override the spec's preprocessing entrypoints per modality.
    `max_in_flight` bounds how many requests fan out at once; the rest wait, highest plan priority first.
    """

    def __init__(
        self,
        pipeline: PipelineSpec,
        catalog: ProfileCatalog,
        contracts: Sequence[ConsumerContract],
        endpoints: ModelEndpoints,
        *,
        sink: ReportSink | None = None,
        default_algorithm: str = "adaptive",
        preprocessors: Mapping[str, Preprocess] | None = None,
        plugins: Sequence[str] = (),
        run: str = "default",
        service: str = "serving-gateway",
        node: str | None = None,
        seed: int | None = None,
        feedback_capacity: int = 10_000,
        max_connections: int = 256,
        max_in_flight: int | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.catalog = catalog
        self.endpoints = endpoints
        self.sink = sink
        self.app = pipeline.application
        self.run = run
        self.service = service
        self.node = node
        self._consumers = prepare_consumers(pipeline, catalog, contracts, endpoints)
        self._preprocessors = resolve_preprocessors(pipeline, preprocessors)
        self._schedulers: dict[str, RequestScheduler] = {}
        for name in (*available_schedulers(), *plugins):
            self._schedulers[name] = get_scheduler(name)
        self.default_algorithm = self._require_algorithm(default_algorithm, "default_algorithm")
        self._aggregators: dict[str, Aggregator] = {m.name: make_aggregator(m.aggregation) for m in pipeline.modalities}
        self._fusion = make_aggregator(pipeline.fusion)
        self._rng = np.random.default_rng(seed)
        self._feedback = FeedbackStore(max_pending=feedback_capacity, max_records=feedback_capacity)
        self._stats = GatewayStats()
        self._waiting = WaitingRequests()
        self._gate = PriorityGate(max_in_flight)
        self._max_connections = max_connections
        # Told of every policy change (an edge site's outbox reports what the site decided while offline).
        self.policy_listeners: list[Callable[[PolicyState], None]] = []
        self._fanout: FanoutClient | None = None
        self._fanout_loop: asyncio.AbstractEventLoop | None = None

    # --- lookups ----------------------------------------------------------------------------------------

    def algorithms(self) -> list[str]:
        return sorted(self._schedulers)

    def consumers(self) -> list[str]:
        return sorted(self._consumers)

    def contract(self, consumer: str) -> ConsumerContract:
        return self._serving(consumer).contract

    def policy(self, consumer: str) -> PolicyState:
        serving = self._serving(consumer)
        return PolicyState(
            consumer=consumer,
            algorithm=serving.algorithm or self.default_algorithm,
            degrade=serving.degrade,
            exclude=list(serving.excluded),
        )

    def _serving(self, consumer: str) -> ConsumerServing:
        serving = self._consumers.get(consumer)
        if serving is None:
            raise NotFound(
                "unknown consumer",
                [Problem("consumer", f"{consumer!r} has no contract", f"use one of: {', '.join(self.consumers())}")],
            )
        return serving

    def _require_algorithm(self, name: str, location: str) -> str:
        if name not in self._schedulers:
            raise NotFound(
                "unknown algorithm",
                [Problem(location, f"{name!r} is not a scheduler", f"use one of: {', '.join(self.algorithms())}")],
            )
        return name

    def set_policy(
        self, consumer: str, algorithm: str | None, degrade: bool, exclude: Sequence[str] = ()
    ) -> PolicyState:
        """How observation actions and the controller adapt a consumer: another scheduler, `degrade` (single
        fastest model), or models excluded from its choices (InvalidInput when that would leave none)."""
        serving, before = self._serving(consumer), self.policy(consumer)
        chosen = self._require_algorithm(algorithm, "algorithm") if algorithm is not None else None
        if tuple(exclude) != serving.excluded:
            serving = self._consumers[consumer] = with_exclusions(
                serving, self.pipeline, self.catalog, self.endpoints, exclude
            )
        serving.algorithm, serving.degrade = chosen, degrade
        after = self.policy(consumer)
        for listener in self.policy_listeners if after != before else ():
            try:
                listener(after)
            except Exception:
                log.exception("policy listener %r failed; the policy is applied regardless", listener)
        return after

    def refresh_models(self) -> None:
        """After the endpoints' membership changed (a live placement): re-derive which models each consumer
        can use, keeping policies. InvalidInput when no model would be left (the old view is kept)."""
        self._consumers = refresh_consumers(self._consumers, self.pipeline, self.catalog, self.endpoints)

    def stats(self) -> StatsResponse:
        return self._stats.snapshot()

    def record_rejected(self) -> None:
        """Count a request turned away before it reached `infer` (e.g. a body that failed validation)."""
        self._stats.rejected()

    # --- inference --------------------------------------------------------------------------------------

    def _client(self) -> FanoutClient:
        # A pooled client belongs to the event loop that opened it; tests and embedders may use several loops.
        loop = asyncio.get_running_loop()
        if self._fanout is None or self._fanout_loop is not loop:
            self._fanout = FanoutClient(self.endpoints, max_connections=self._max_connections)
            self._fanout_loop = loop
        return self._fanout

    async def aclose(self) -> None:
        if self._fanout is not None:
            await self._fanout.aclose()
            self._fanout = None

    def _choose_algorithm(self, serving: ConsumerServing, requested: str | None) -> tuple[str, bool]:
        if requested is not None:
            self._require_algorithm(requested, "algorithm")
        if serving.degrade:
            return DEGRADED_ALGORITHM, True
        return requested or serving.algorithm or self.default_algorithm, False

    async def infer(self, request: InferRequest) -> InferResponse:
        """Serve one request. Raises InvalidInput / NotFound for bad requests (counted as rejected)."""
        arrival = time.perf_counter()
        try:
            serving = self._serving(request.consumer)
            algorithm, degraded = self._choose_algorithm(serving, request.algorithm)
            samples = request_samples(request, self.pipeline.modality_names)
            started = time.perf_counter()
            features = {m: run_preprocessing(self._preprocessors[m], s, m) for m, s in samples.items()}
            preprocessing_ms = (time.perf_counter() - started) * 1000
        except RoheError:
            self._stats.rejected()
            raise
        deadline_ms = request.deadline_ms or serving.contract.deadline_ms or DEFAULT_DEADLINE_MS
        request_id = request.request_id or uuid.uuid4().hex
        token = self._waiting.enter(request.consumer)
        try:
            return await self._serve(
                request,
                serving,
                algorithm,
                degraded,
                features,
                request_id,
                deadline_ms,
                arrival,
                preprocessing_ms,
                token,
            )
        except RoheError:
            self._stats.rejected()
            raise
        finally:
            self._waiting.leave(request.consumer, token)

    async def _serve(
        self,
        request: InferRequest,
        serving: ConsumerServing,
        algorithm: str,
        degraded: bool,
        features: dict[str, list[float]],
        request_id: str,
        deadline_ms: float,
        arrival: float,
        preprocessing_ms: float,
        token: int,
    ) -> InferResponse:
        scheduling_started = time.perf_counter()
        remaining_ms = deadline_ms - (scheduling_started - arrival) * 1000
        planned = plan_modalities(
            self._schedulers[algorithm],
            algorithm,
            serving,
            features,
            request,
            deadline_ms=deadline_ms,
            remaining_ms=remaining_ms,
            oldest_waiting_ms=lambda: self._waiting.oldest_ms(request.consumer, token),
            rng=self._rng,
        )
        scheduling_ms = (time.perf_counter() - scheduling_started) * 1000

        priority = max((p.plan.priority for p in planned if p.plan is not None), default=0.0)
        queue_started = time.perf_counter()
        planned, admitted = await admit(self._gate, planned, deadline_ms - (queue_started - arrival) * 1000)
        fanout_started = time.perf_counter()
        queueing_ms = (fanout_started - queue_started) * 1000
        try:
            client = self._client()
            results = await asyncio.gather(*(execute(client, p, request_id, self._aggregators) for p in planned))
        finally:
            if admitted:
                self._gate.release()
        fanout_ms = (time.perf_counter() - fanout_started) * 1000

        fusion_started = time.perf_counter()
        fused = self._fuse([r for r in results if r.prediction is not None])
        aggregation_ms = sum(r.aggregation_ms for r in results) + (time.perf_counter() - fusion_started) * 1000
        fanout_ms -= sum(r.aggregation_ms for r in results)
        total_ms = (time.perf_counter() - arrival) * 1000
        timings = Timings(
            scheduling=scheduling_ms,
            preprocessing=preprocessing_ms,
            queueing=queueing_ms,
            fanout=max(0.0, fanout_ms),
            aggregation=aggregation_ms,
            total=total_ms,
        )
        response = build_response(
            request_id, request.consumer, algorithm, degraded, deadline_ms, results, fused, timings, priority
        )
        self._record(response, results)
        return response

    def _fuse(self, answered: Sequence[ModalityResult]) -> AggregatedPrediction | None:
        predictions = [r.prediction for r in answered if r.prediction is not None]
        if len(predictions) <= 1:
            return predictions[0] if predictions else None
        # Each modality's fused answer is one voter in the cross-modality fusion.
        voters = [
            MemberPrediction(r.modality, p.probabilities, p.predicted_class, p.confidence)
            for r, p in zip(answered, predictions, strict=True)
        ]
        return self._fusion.aggregate(voters)

    def _record(self, response: InferResponse, results: Sequence[ModalityResult]) -> None:
        self._stats.served(
            response.consumer, response.algorithm, response.status, response.timings_ms.total, response.deadline_missed
        )
        if response.predicted_class is not None:
            self._feedback.remember(
                ServedPrediction(
                    response.request_id,
                    self._strategy_of(results),
                    response.predicted_class,
                    tuple((p.model, p.predicted_class) for r in results for p in r.predictions),
                    consumer=response.consumer,
                    algorithm=response.algorithm,
                )
            )
        submit_all(self.sink, request_reports(self, response, results))

    def _strategy_of(self, results: Sequence[ModalityResult]) -> str:
        answered = [r.modality for r in results if r.prediction is not None]
        return self.pipeline.fusion if len(answered) > 1 else self.pipeline.modality(answered[0]).aggregation

    # --- feedback ---------------------------------------------------------------------------------------

    def feedback(self, request_id: str, true_class: int) -> bool:
        """Join a label to the prediction served for `request_id`; returns whether it was right.
        NotFound for an unknown or expired id, Conflict for a second label."""
        record = self._feedback.record(request_id, true_class)
        served = record.served
        members = {model: predicted == true_class for model, predicted in served.member_classes}
        self._stats.labelled(served.consumer, served.algorithm, record.correct, members)
        submit_all(self.sink, [feedback_report(self, served.consumer, request_id, true_class)])
        return record.correct
