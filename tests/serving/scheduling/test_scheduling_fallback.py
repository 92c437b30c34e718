"""The stated fallback of rohe-ensemble when no ensemble satisfies a contract: nearest-feasible, said once."""

from __future__ import annotations

import logging

import pytest
from scheduling_cases import contract, profile, request

from rohe.core.contracts.model import Constraint
from rohe.core.profiles import ProfileCatalog
from rohe.serving.scheduling import SelectedEnsemble, describe, nearest_feasible, prepare
from rohe.serving.selection.algorithms import RoheEnsemble


def cheap_catalog(cost_scale: float = 1.0) -> ProfileCatalog:
    """Three models whose derived cost grows with latency, as the HTTP-measured demo profiles do."""
    return ProfileCatalog.of(
        [
            profile("fast", 2, 4, 0.80, cost=0.0002 * cost_scale, throughput_rps=5000.0, cost_base=0.0001),
            profile("mid", 4, 8, 0.90, cost=0.0004 * cost_scale, throughput_rps=5000.0, cost_base=0.0001),
            profile("slow", 8, 16, 0.95, cost=0.0008 * cost_scale, throughput_rps=5000.0, cost_base=0.0001),
        ]
    )


def capped(ceiling: float) -> dict[str, object]:
    return {"constraints": [{"metric": "cost", "aggregate": "sum", "max": ceiling}], "required_throughput": 1}


def test_a_satisfiable_contract_is_served_without_breach() -> None:
    consumer = prepare(contract(1, 2, **capped(1.0)), cheap_catalog())
    plan = SelectedEnsemble().plan(request(consumer, 100))
    assert plan.breach is None and plan.scheduler == "rohe-ensemble"
    assert plan.members == [m.model for m in RoheEnsemble().search(consumer.contract, consumer.catalog).members]


def test_cost_ceiling_below_every_ensemble_serves_the_cheapest_and_says_so_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Every member costs more than the ceiling: the measured latency pushed the derived cost over it.
    consumer = prepare(contract(1, 2, **capped(0.0002)), cheap_catalog())
    scheduler = SelectedEnsemble()
    with caplog.at_level(logging.WARNING, logger="rohe.serving.scheduling.selected"):
        plans = [scheduler.plan(request(consumer, 100, seed=i)) for i in range(20)]
    assert all(p.members == ["fast"] for p in plans)  # nearest: the smallest excess over the ceiling
    assert all(p.scheduler == "rohe-ensemble (best-effort)" for p in plans)
    assert all(p.breach and "no ensemble satisfies the contract of 'cam'" in p.breach for p in plans)
    assert all("cost at most 0.0002/s (this ensemble: 0.0003)" in (p.breach or "") for p in plans)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # loudly, but once per consumer, not once per request
    assert "cost at most 0.0002/s" in warnings[0].getMessage() and "[fast]" in warnings[0].getMessage()


def test_a_member_past_the_time_left_is_still_dropped_in_the_fallback() -> None:
    consumer = prepare(contract(2, 2, **capped(0.0001)), cheap_catalog())
    plan = SelectedEnsemble().plan(request(consumer, 6))
    assert plan.members == ["fast"]  # fallback is fast+mid; mid's p99 of 8 ms does not fit 6 ms
    assert plan.breach is not None


def test_nearest_feasible_prefers_less_violation_then_the_higher_score() -> None:
    # Accuracy at least 0.99: slow (0.95) is nearest; with the bound at 0.5 all satisfy, no breach to find.
    strict = contract(1, 1, constraints=[{"metric": "accuracy", "aggregate": "max", "min": 0.99}])
    found = nearest_feasible(strict, cheap_catalog())
    assert found is not None
    assert [cheap_catalog().models[m] for m, _ in found.members] == ["slow"]
    assert found.broken == ("accuracy at least 0.99 (this ensemble: 0.95)",)
    # The smaller excess wins: fast's p99 of 4 ms is nearer to 2 ms than anyone else's.
    tight = contract(1, 1, constraints=[{"metric": "response_time_p99", "aggregate": "max", "max": 2}])
    near = nearest_feasible(tight, cheap_catalog())
    assert near is not None and [cheap_catalog().models[m] for m, _ in near.members] == ["fast"]
    # Every model misses a throughput floor by the same amount: the accuracy objective decides.
    tie = contract(1, 1, constraints=[{"metric": "throughput", "aggregate": "sum", "min": 10_000}])
    even = nearest_feasible(tie, cheap_catalog())
    assert even is not None and [cheap_catalog().models[m] for m, _ in even.members] == ["slow"]


def test_no_profile_values_means_no_fallback_and_no_answer(caplog: pytest.LogCaptureFixture) -> None:
    # No throughput: replicas cannot be sized, so no candidate can be judged at all.
    bare = ProfileCatalog.of([profile("x", 1, 2, 0.5)])
    consumer = prepare(contract(1, 1), bare)
    with caplog.at_level(logging.WARNING):
        plan = SelectedEnsemble().plan(request(consumer, 100))
    assert plan.members == [] and plan.breach is not None
    assert "no candidate has the profile values to fall back on" in caplog.text


@pytest.mark.parametrize(
    ("clause", "words"),
    [
        ({"metric": "accuracy", "min": 0.95}, "accuracy at least 0.95"),
        ({"metric": "cost", "max": 0.0005}, "cost at most 0.0005/s"),
        ({"metric": "response_time_p99", "max": 20}, "response time p99 at most 20 ms"),
        (
            {"metric": "miss_rate", "classes": [3, 8], "min": 0, "max": 0.1},
            "miss rate of classes 3, 8 between 0 and 0.1",
        ),
    ],
)
def test_clauses_in_words(clause: dict[str, object], words: str) -> None:
    assert describe(Constraint.model_validate(clause)) == words
