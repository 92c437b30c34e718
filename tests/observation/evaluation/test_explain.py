"""Explanations rank the injected fault first, with evidence, and are deterministic."""

from __future__ import annotations

from rohe.core.contracts import ConsumerContract, parse_contract
from rohe.core.profiles import ModelProfile, ProfileCatalog
from rohe.observation.evaluation import ContractEvaluator
from rohe.observation.metrics import ModelStats, ResourceStats
from rohe.observation.violations import CauseKind

from .builders import latency, window


def contract() -> ConsumerContract:
    return parse_contract({
        "consumer": "tenant-a", "ensemble": {"max": 3}, "required_throughput": 10, "deadline_ms": 250,
        "objectives": [{"metric": "accuracy", "direction": "max", "min": 0, "max": 1}],
        "constraints": [{"metric": "accuracy", "min": 0.9}],
    })


def throughput_contract() -> ConsumerContract:
    """A contract whose SLO promises a served rate (ROHE's performance_slo.throughput_rps)."""
    slo = {"contract_id": "tenant-a", "tenant_id": "t", "pipeline_id": "p", "effective_from": "2026-01-01",
           "performance_slo": {"response_time_p99_ms": 10_000, "throughput_rps": 10, "availability_percent": 1}}
    return parse_contract({**contract().model_dump(mode="json", exclude_none=True), "slo": slo})


def test_slow_stage_is_ranked_first() -> None:
    stages = {"scheduling": latency(2), "preprocessing": latency(400), "fanout": latency(80), "aggregation": latency(1)}
    (violation,) = ContractEvaluator([contract()]).evaluate(window(0, p99=480.0, stages=stages))
    assert violation.metric == "end_to_end.p99_ms"
    first = violation.causes[0]
    assert (first.kind, first.name) == (CauseKind.STAGE, "preprocessing")
    assert first.share > 0.8
    assert "preprocessing" in violation.explanation


def test_slowest_member_model_is_named() -> None:
    models = {
        "fast": ModelStats(requests=200, latency=latency(40), labelled=200, accuracy=0.95),
        "slow": ModelStats(requests=200, latency=latency(390), labelled=200, accuracy=0.95),
        "medium": ModelStats(requests=200, latency=latency(120), labelled=200, accuracy=0.95),
    }
    (violation,) = ContractEvaluator([contract()]).evaluate(window(0, p99=420.0, models=models))
    model_causes = [c.name for c in violation.causes if c.kind is CauseKind.MODEL]
    assert model_causes == ["slow", "medium", "fast"]
    stage_causes = [c.name for c in violation.causes if c.kind is CauseKind.STAGE]
    assert stage_causes[0] == "fanout"


def test_accuracy_drop_blames_the_model_that_fell_furthest_below_its_profile() -> None:
    profiles = ProfileCatalog.of([
        ModelProfile(model="m1", node_type="nuc", accuracy=0.90),
        ModelProfile(model="m2", node_type="nuc", accuracy=0.96),
        ModelProfile(model="m2", node_type="pi", accuracy=0.94),
    ])
    models = {
        "m1": ModelStats(requests=100, labelled=100, accuracy=0.85),  # 5 points below its profile
        "m2": ModelStats(requests=100, labelled=100, accuracy=0.55),  # 40 points below
    }
    evaluator = ContractEvaluator([contract()], profiles=profiles)
    (violation,) = evaluator.evaluate(window(0, accuracy=0.7, models=models, class_miss_rate={"1": 0.1, "6": 0.6}))
    models_ranked = [c for c in violation.causes if c.kind is CauseKind.MODEL]
    assert [c.name for c in models_ranked] == ["m2", "m1"]
    assert models_ranked[0].share > 0.85
    assert "profiled" in models_ranked[0].evidence
    assert next(c.name for c in violation.causes if c.kind is CauseKind.DATA) == "class 6"


def test_throughput_shortfall_names_late_members_and_saturated_nodes() -> None:
    models = {"m1": ModelStats(requests=30, late=20), "m2": ModelStats(requests=50)}
    resources = {"m1@pi-1": ResourceStats(samples=10, cpu_mean=3.5, cpu_max=3.9, memory_mean=100, memory_max=120),
                 "m2@nuc-1": ResourceStats(samples=10, cpu_mean=0.5, cpu_max=0.9, memory_mean=100, memory_max=120)}
    evaluator = ContractEvaluator([throughput_contract()], capacity={"pi-1": 4, "nuc-1": 8})
    found = evaluator.evaluate(window(0, requests=50, errors=5, models=models, resources=resources))
    (violation,) = [v for v in found if v.metric == "throughput_rps"]
    names = [c.name for c in violation.causes]
    assert names[0] == "m1@pi-1"
    assert "m1" in names and "no member answered" in names and "m2@nuc-1" not in names


def test_explanations_are_deterministic() -> None:
    def run() -> list[tuple[str, list[str], str]]:
        found = ContractEvaluator([contract()]).evaluate(window(0, p99=900.0, requests=20, accuracy=0.3))
        return [(v.clause, [c.name for c in v.causes], v.explanation) for v in found]

    assert run() == run()
