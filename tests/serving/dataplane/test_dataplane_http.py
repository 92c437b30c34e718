"""The pipeline against real model services over HTTP: answers, deadlines, retries, total failure."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import numpy as np
import pytest
from dataplane_farm import ModelFarm

from rohe.core.errors import Conflict, InvalidInput, NotFound
from rohe.serving.dataplane import (
    FanoutClient,
    InferencePipeline,
    MemberPrediction,
    MemberStatus,
    ModelEndpoints,
    ResponseStatus,
    make_aggregator,
)

T = TypeVar("T")
ACCURATE = ("logreg", "tree", "bayes")


def run_with(
    endpoints: dict[str, list[str]], body: Callable[[InferencePipeline], Awaitable[T]], **options: object
) -> T:
    async def main() -> T:
        async with FanoutClient(ModelEndpoints(endpoints)) as fanout:
            return await body(InferencePipeline(fanout, **options))  # type: ignore[arg-type]

    return asyncio.run(main())


def test_all_members_answer_and_the_aggregate_matches_the_models(farm: ModelFarm) -> None:
    endpoints = {name: [farm.urls[name]] for name in ACCURATE}
    sample = farm.samples[5]

    async def body(pipeline: InferencePipeline) -> None:
        for strategy in ("mean", "majority", "weighted", "max-confidence"):
            response = await pipeline.infer(f"r-{strategy}", sample.tolist(), ACCURATE, strategy, 2000)
            assert response.ok and response.status is ResponseStatus.OK
            assert set(response.answered) == set(ACCURATE) and not response.late and not response.failed
            local = [
                MemberPrediction(name, tuple(probs), int(np.argmax(probs)), float(np.max(probs)))
                for name in ACCURATE
                for probs in [farm.models[name].predict_proba(sample.reshape(1, -1))[0]]
            ]
            expected = make_aggregator(strategy).aggregate(local)
            assert response.prediction is not None
            assert response.prediction.predicted_class == expected.predicted_class
            assert response.prediction.probabilities == pytest.approx(expected.probabilities, abs=1e-9)
            assert response.prediction.agreement == pytest.approx(expected.agreement)
            for outcome in response.outcomes:
                assert outcome.replica_url == farm.urls[outcome.model] and outcome.attempts == 1
                assert outcome.inference_ms is not None and outcome.error is None
            t = response.timings
            assert 0 <= t.fanout_ms <= t.total_ms and 0 <= t.aggregation_ms <= t.total_ms

    run_with(endpoints, body)


def test_feedback_gives_accuracy_against_ground_truth(farm: ModelFarm) -> None:
    endpoints = {name: [farm.urls[name]] for name in ACCURATE}

    async def body(pipeline: InferencePipeline) -> InferencePipeline:
        assert pipeline.accuracy() is None
        for index in range(40):
            response = await pipeline.infer(f"q{index}", farm.samples[index].tolist(), ACCURATE, "mean", 2000)
            assert response.ok
            pipeline.record_feedback(f"q{index}", int(farm.labels[index]))
        return pipeline

    pipeline = run_with(endpoints, body)
    accuracy = pipeline.accuracy()
    assert accuracy is not None and accuracy > 0.8  # three real models on held-out digits
    per_model = pipeline.feedback.model_accuracy()
    assert set(per_model) == set(ACCURATE) and per_model["logreg"] > 0.8
    with pytest.raises(Conflict):
        pipeline.record_feedback("q0", 1)
    with pytest.raises(NotFound):
        pipeline.record_feedback("never-served", 1)


def test_a_slow_member_is_cut_off_at_the_deadline_and_reported_late(farm: ModelFarm) -> None:
    endpoints = {"logreg": [farm.urls["logreg"]], "slow": [farm.urls["slow"]]}

    async def body(pipeline: InferencePipeline) -> None:
        response = await pipeline.infer("late-1", farm.samples[0].tolist(), ["logreg", "slow"], "majority", 500)
        assert response.ok and response.answered == ("logreg",) and response.late == ("slow",)
        (slow,) = [o for o in response.outcomes if o.model == "slow"]
        assert slow.status is MemberStatus.LATE and slow.replica_url == farm.urls["slow"]
        assert slow.error is not None and "deadline" in slow.error
        assert response.prediction is not None and response.prediction.members == ("logreg",)

    run_with(endpoints, body)


def test_a_failing_replica_is_retried_on_another_replica(farm: ModelFarm) -> None:
    endpoints = {"logreg": [farm.urls["broken"], farm.urls["logreg"]], "tree": [farm.closed_url, farm.urls["tree"]]}

    async def body(pipeline: InferencePipeline) -> None:
        response = await pipeline.infer("retry-1", farm.samples[0].tolist(), ["logreg", "tree"], "mean", 2000)
        assert response.ok and set(response.answered) == {"logreg", "tree"}
        by_model = {o.model: o for o in response.outcomes}
        assert by_model["logreg"].attempts == 2 and by_model["logreg"].replica_url == farm.urls["logreg"]
        assert by_model["logreg"].error is not None and "HTTP 500" in by_model["logreg"].error
        assert by_model["tree"].attempts == 2 and by_model["tree"].replica_url == farm.urls["tree"]
        assert by_model["tree"].error is not None and "Connect" in by_model["tree"].error

    run_with(endpoints, body)


def test_round_robin_spreads_requests_over_replicas(farm: ModelFarm) -> None:
    endpoints = {"logreg": [farm.urls["logreg"], farm.urls["bayes"]]}

    async def body(pipeline: InferencePipeline) -> list[str | None]:
        used = []
        for index in range(4):
            response = await pipeline.infer(f"rr{index}", farm.samples[0].tolist(), ["logreg"], "mean", 2000)
            used.append(response.outcomes[0].replica_url)
        return used

    assert run_with(endpoints, body) == [farm.urls["logreg"], farm.urls["bayes"]] * 2


def test_when_no_member_answers_the_response_is_an_explicit_error(farm: ModelFarm) -> None:
    endpoints = {
        "broken": [farm.urls["broken"], farm.urls["broken-2"]],
        "lonely": [farm.urls["broken"]],
        "gone": [farm.closed_url],
    }

    async def body(pipeline: InferencePipeline) -> None:
        response = await pipeline.infer("doomed", [0.0] * 64, ["broken", "lonely", "gone"], "majority", 2000)
        assert not response.ok and response.status is ResponseStatus.ERROR
        assert response.prediction is None and not response.answered
        assert set(response.failed) == {"broken", "lonely", "gone"}
        assert response.error is not None and "no member answered" in response.error
        by_model = {o.model: o for o in response.outcomes}
        assert by_model["broken"].attempts == 2
        assert by_model["lonely"].error is not None and "no other replica" in by_model["lonely"].error
        with pytest.raises(NotFound):
            pipeline.record_feedback("doomed", 0)  # a failed request is never scored

    run_with(endpoints, body)


def test_a_4xx_is_not_retried_and_bad_requests_fail_before_sending(farm: ModelFarm) -> None:
    endpoints = {"logreg": [farm.urls["logreg"], farm.urls["tree"]]}

    async def body(pipeline: InferencePipeline) -> None:
        response = await pipeline.infer("short", [1.0, 2.0], ["logreg"], "mean", 2000)
        assert not response.ok and response.outcomes[0].attempts == 1
        assert response.outcomes[0].error is not None and "HTTP 422" in response.outcomes[0].error
        with pytest.raises(NotFound, match="no endpoints"):
            await pipeline.infer("x", [0.0] * 64, ["nobody"], "mean", 2000)
        with pytest.raises(NotFound, match="strategy"):
            await pipeline.infer("x", [0.0] * 64, ["logreg"], "median", 2000)
        with pytest.raises(InvalidInput) as caught:
            await pipeline.infer("x", [], [], "mean", -1)
        assert {p.location for p in caught.value.problems} == {"members", "input", "deadline_ms"}

    run_with(endpoints, body)


def test_cancelling_the_caller_cancels_every_member_request(farm: ModelFarm) -> None:
    endpoints = {"slow": [farm.urls["slow"]], "logreg": [farm.urls["logreg"]]}

    async def body(pipeline: InferencePipeline) -> set[asyncio.Task[object]]:
        request = asyncio.create_task(
            pipeline.infer("abandoned", farm.samples[0].tolist(), ["slow", "logreg"], "mean", 10_000)
        )
        await asyncio.sleep(0.2)
        request.cancel()
        with pytest.raises(asyncio.CancelledError):
            await request
        return {t for t in asyncio.all_tasks() if t is not asyncio.current_task()}

    assert run_with(endpoints, body) == set()
