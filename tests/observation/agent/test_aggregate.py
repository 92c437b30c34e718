"""Window metrics computed from reports: latency stats, counts, feedback accuracy, models, resources, plug-ins."""

from __future__ import annotations

import numpy as np
import pytest

from observation.agent.support import MemorySink, feedback, member, request, resource
from rohe.observation.agent import AgentConfig, ObservationAgent
from rohe.observation.agent.aggregate import latency_stats
from rohe.observation.metrics import ALL_CONSUMERS
from rohe.observation.reports import RequestStatus


def _agent(sink: MemorySink, **extra: object) -> ObservationAgent:
    config = AgentConfig.model_validate(
        {
            "app": "app",
            "run": "run",
            "windows": [{"size_s": 10}],
            "allowed_lateness_s": 0,
            "idle_close_s": None,
            **extra,
        }
    )
    return ObservationAgent(config, sink)


def test_percentiles_equal_numpy_on_random_data() -> None:
    rng = np.random.default_rng(7)
    for size in (1, 2, 17, 1000):
        values = rng.lognormal(3.0, 1.0, size)
        stats = latency_stats(list(values))
        assert stats is not None and stats.count == size
        p50, p95, p99 = np.percentile(values, [50, 95, 99])
        assert (stats.p50_ms, stats.p95_ms, stats.p99_ms) == pytest.approx((p50, p95, p99), rel=1e-12)
        assert stats.mean_ms == pytest.approx(values.mean()) and stats.max_ms == values.max()
    assert latency_stats([]) is None
    assert latency_stats([float("nan"), -1.0]) is None, "unusable values are ignored, not crashed on"


def test_request_counts_latency_and_cost_per_consumer_and_overall() -> None:
    sink = MemorySink()
    agent = _agent(sink)
    rng = np.random.default_rng(1)
    latencies = rng.uniform(5, 50, 40)
    reports = [
        request(
            i * 0.2,
            f"q{i}",
            consumer="c1" if i % 4 else "c2",
            e2e=float(latencies[i]),
            status=RequestStatus.PARTIAL if i % 10 == 3 else RequestStatus.OK,
            members=["m1", "m2", "m3"][: 1 + i % 3],
        )
        for i in range(40)
    ]
    reports.append(request(9.5, "q-err", consumer="c2", status=RequestStatus.ERROR, members=[]))
    agent.ingest(reports)
    agent.ingest([request(12, "next")])  # watermark passes 10 s: the first window closes
    [overall] = [w for w in sink.for_consumer(ALL_CONSUMERS) if w.start.second == 0]
    assert (overall.requests, overall.errors, overall.partial) == (41, 1, 4)
    assert overall.throughput_rps == pytest.approx(4.1)
    assert overall.end_to_end is not None
    assert overall.end_to_end.p95_ms == pytest.approx(np.percentile([*latencies, 10.0], 95))
    assert overall.stages["scheduling"].count == 41
    assert overall.ensemble_size_mean == pytest.approx(np.mean([1 + i % 3 for i in range(40)] + [0]))
    assert overall.cost_total == pytest.approx(41.0)
    [c2] = sink.for_consumer("c2")
    assert (c2.requests, c2.errors) == (11, 1)
    assert [w.requests for w in sink.for_consumer("c1")] == [30]


def test_feedback_joins_predictions_overall_per_class_and_per_model() -> None:
    sink = MemorySink()
    agent = _agent(sink)
    truth = {"q1": "cat", "q2": "dog", "q3": "cat", "q4": "dog"}
    predicted = {"q1": "cat", "q2": "cat", "q3": "cat", "q4": "dog"}  # q2 wrong
    for i, rid in enumerate(truth):
        agent.ingest(
            [
                request(i, rid, predicted=predicted[rid]),
                member(i, rid, "m1", predicted=predicted[rid]),
                member(i, rid, "m2", predicted="dog", inference=20.0 + i),
            ]
        )
    agent.ingest([request(5, "q5", status=RequestStatus.ERROR), member(5, "q5", "m1", failed=True)])
    # Ground truth arrives in the next window, and with no consumer: it is joined by request id.
    agent.ingest([feedback(11, rid, cls, consumer=None) for rid, cls in truth.items()] + [feedback(11, "q5", "cat")])
    agent.ingest([feedback(12, "unknown-id", "cat")])
    agent.flush()
    first, second = sink.for_consumer("c1")
    assert first.labelled == 0 and first.accuracy is None
    assert second.labelled == 5 and second.accuracy == pytest.approx(3 / 5), "an unanswered request counts wrong"
    assert second.class_accuracy == {"cat": pytest.approx(2 / 3), "dog": 1.0}
    assert second.class_miss_rate == {"cat": pytest.approx(1 / 3), "dog": pytest.approx(1 / 2)}
    assert second.models["m1"].accuracy == pytest.approx(3 / 4) and second.models["m2"].accuracy == 0.5
    assert first.models["m1"].requests == 4 and first.models["m1"].late == 1
    latency = first.models["m2"].latency
    assert latency is not None and latency.max_ms == 23.0
    assert first.stages["inference"].count == 8
    assert agent.stats.feedback_unmatched == 1


def test_resources_per_service_and_node_only_in_the_all_consumers_window() -> None:
    sink = MemorySink()
    agent = _agent(sink)
    agent.ingest([resource(1, 0.5, 100), resource(2, 1.5, 300), resource(3, 2.0, 50, node="n2"), request(4, "q")])
    agent.flush()
    [overall] = sink.for_consumer(ALL_CONSUMERS)
    n1 = overall.resources["svc@n1"]
    assert (n1.samples, n1.cpu_mean, n1.cpu_max, n1.memory_mean, n1.memory_max) == (2, 1.0, 1.5, 200.0, 300.0)
    assert overall.resources["svc@n2"].samples == 1
    assert sink.for_consumer("c1")[0].resources == {}


def test_window_functions_by_dotted_path_fill_custom_and_a_failing_one_is_counted() -> None:
    sink = MemorySink()
    agent = _agent(
        sink,
        window_functions={
            "quality": "observation.agent.support:error_share",
            "broken": "observation.agent.support.broken_function",
        },
    )
    agent.ingest([request(1, "a"), request(2, "b", status=RequestStatus.ERROR)])
    agent.flush()
    [overall] = sink.for_consumer(ALL_CONSUMERS)
    assert overall.custom == {"quality.error_share": 0.5, "quality.requests": 2.0}
    assert agent.stats.plugin_errors == 2, "once per window (all consumers and c1)"
