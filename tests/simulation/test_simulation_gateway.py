"""The simulated gateway plans with the real schedulers, bounds fan-out by the deadline, escalates with the
plan's own rule, aggregates with the data plane's code, and bills as the gateway does."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from simulation_cases import CLASSES, catalog, contract, queries, setup

from rohe.core.errors import InvalidInput
from rohe.core.profiles import ModelProfile, ProfileCatalog
from rohe.serving.scheduling import RequestContext, get_scheduler, prepare
from rohe.simulation import Failure, ProfileConfusion, SimInstance, SimQuery, arrivals, simulate

THREE = catalog(("a", "b", "c"))
EVERYWHERE = [SimInstance(m, f"n-{m}", "edge", 4) for m in ("a", "b", "c")]
TIMES = arrivals("poisson", rate=20, duration_s=100, seed=3)


def test_members_are_what_the_real_scheduler_plans() -> None:
    for name in ("single-best", "all-models", "llf", "fastest", "rohe-ensemble"):
        expected = get_scheduler(name).plan(
            RequestContext(prepare(contract(500, (1, 2)), THREE), 500.0, np.random.default_rng(0))
        )
        records = simulate(setup(EVERYWHERE, name, cat=THREE), queries(TIMES[:200])).records
        assert {r.member_models for r in records} == {tuple(expected.members)}, name


def test_the_oracle_is_given_the_true_class() -> None:
    records = simulate(setup(EVERYWHERE, "oracle", cat=THREE, ensemble=(1, 1)), queries(TIMES)).records
    best = {c: THREE.models[int(np.argmax(THREE.class_accuracy[:, 0, i]))] for i, c in enumerate(CLASSES)}
    assert all(r.member_models == (best[r.true_class],) for r in records)


def test_accuracy_comes_from_the_profiles() -> None:
    records = simulate(setup(EVERYWHERE, "single-best", cat=THREE), queries(TIMES)).records
    model = records[0].member_models[0]
    expected = THREE.values[THREE.models.index(model), 0, 4]  # Metric.ACCURACY; classes appear equally often
    assert np.mean([r.correct for r in records]) == pytest.approx(expected, abs=0.03)


def test_an_ensemble_is_aggregated_and_more_accurate_than_its_members() -> None:
    accurate = ProfileCatalog.of(
        ModelProfile(
            model=m,
            node_type="edge",
            latency_p50_ms=5,
            latency_p99_ms=10,
            accuracy=0.7,
            class_accuracy=dict.fromkeys(CLASSES, 0.7),
        )
        for m in ("a", "b", "c")
    )
    single = simulate(setup(EVERYWHERE, "single-best", cat=accurate), queries(TIMES)).records
    voted = simulate(setup(EVERYWHERE, "all-models", cat=accurate, ensemble=(1, 3)), queries(TIMES)).records
    assert np.mean([r.correct for r in single]) == pytest.approx(0.7, abs=0.03)
    # Majority of three independent 70% voters over 4 classes: at least 0.7^3 + 3 * 0.7^2 * 0.3 = 0.784.
    assert np.mean([r.correct for r in voted]) > 0.78


def test_adaptive_escalates_when_phase_zero_is_unsure() -> None:
    unsure = ProfileCatalog.of(
        ModelProfile(
            model=m,
            node_type="edge",
            latency_p50_ms=5,
            latency_p99_ms=10,
            accuracy=0.7,
            confidence=0.5,
            class_accuracy=dict.fromkeys(CLASSES, 0.7),
            cost_per_request=1.0 + i,
        )
        for i, m in enumerate(("a", "b", "c"))
    )
    records = simulate(setup(EVERYWHERE, "adaptive", cat=unsure, ensemble=(1, 3)), queries(TIMES)).records
    # Phase 0 is the cheapest model; confidence 0.5 is under the 0.8 threshold, so phase 1 adds two more.
    assert {r.member_models[0] for r in records} == {"a"}
    assert {r.members for r in records} == {3}
    assert all(r.cost == 6.0 for r in records)


def test_fan_out_is_bounded_by_the_deadline() -> None:
    # One slow instance under heavy load: members that miss the deadline are cut off at it.
    cat = catalog(("a",), p50_ms=40, p99_ms=60)
    spec = setup([SimInstance("a", "n1", "edge")], cat=cat, deadline_ms=100)
    records = simulate(spec, queries(arrivals("poisson", rate=40, duration_s=20, seed=1))).records
    answered = [r for r in records if r.answered]
    assert any(not r.answered for r in records)
    assert all(r.latency_s <= r.deadline_s + 1e-12 for r in answered)


def test_nothing_feasible_is_an_unanswered_record() -> None:
    records = simulate(setup(EVERYWHERE, cat=THREE, deadline_ms=5), queries([0.0, 1.0])).records
    assert all(not r.answered and r.late and math.isnan(r.latency_s) and r.members == 0 for r in records)


def test_gateway_overhead_and_per_query_deadline() -> None:
    spec = setup([SimInstance("a", "n1", "edge")], cat=catalog(("a",), 10, 10))  # constant 10 ms of work
    base = simulate(spec, [SimQuery("q", 0.0, 0)]).records[0]
    assert base.latency_s == pytest.approx(0.010) and base.deadline_s == 0.5 and not base.late
    with_overhead = replace(spec, gateway_overhead_s=0.005)
    fits, too_tight = simulate(
        with_overhead, [SimQuery("fits", 0.0, 0, deadline_s=0.0155), SimQuery("tight", 1.0, 0, deadline_s=0.014)]
    ).records
    assert fits.latency_s == pytest.approx(0.015) and fits.deadline_s == 0.0155 and not fits.late
    # 14 ms minus 5 ms of overhead leaves 9 ms, under the model's 10 ms p99: the scheduler plans nothing.
    assert not too_tight.answered and too_tight.late and too_tight.members == 0


def test_weighted_aggregation_is_available() -> None:
    records = simulate(setup(EVERYWHERE, "all-models", cat=THREE, aggregation="weighted"), queries(TIMES[:50])).records
    assert all(r.answered for r in records)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"failures": [Failure("crash", 1.0, "nowhere", 1.0)]}, "failures[0].target"),
        ({"failures": [Failure("slowdown", 1.0, "n-a", 1.0, factor=0.0)]}, "failures[0].factor"),
        ({"failures": [Failure("crash", -1.0, "a", 1.0)]}, "failures[0].at_s"),
        ({"instances": []}, "instances"),
        ({"instances": [SimInstance("a", "n1", "edge", 0)]}, "instances[0].concurrency"),
        ({"gateway_overhead_s": -1.0}, "gateway_overhead_s"),
    ],
)
def test_bad_setups_name_the_field(change: dict[str, object], field: str) -> None:
    spec = replace(setup(EVERYWHERE, cat=THREE), **change)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput) as caught:
        simulate(spec, queries([0.0]))
    assert field in [p.location for p in caught.value.problems]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (SimQuery("q", 0.0, 99), "queries[0].true_class"),
        (SimQuery("q", math.nan, 0), "queries[0].arrival_s"),
        (SimQuery("q", 0.0, 0, deadline_s=0.0), "queries[0].deadline_s"),
    ],
)
def test_bad_queries_name_the_field(query: SimQuery, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        simulate(setup(EVERYWHERE, cat=THREE), [query])
    assert field in [p.location for p in caught.value.problems]


def test_unknown_scheduler_is_refused_with_the_choices() -> None:
    from rohe.core.errors import NotFound

    with pytest.raises(NotFound):
        simulate(setup(EVERYWHERE, "no-such-scheduler", cat=THREE), queries([0.0]))


def test_confusion_vectors_put_the_prediction_on_top() -> None:
    confusion = ProfileConfusion(THREE)
    rng = np.random.default_rng(0)
    for _ in range(200):
        vector = confusion.predict("a", 2, rng)
        assert len(vector) == max(CLASSES) + 1 and vector.sum() == pytest.approx(1.0)
        assert np.count_nonzero(vector == vector.max()) == 1


def test_consumers_and_schedulers_per_query_share_the_cluster() -> None:
    other = contract(500, (1, 3)).model_copy(update={"consumer": "other"})
    spec = replace(setup(EVERYWHERE, cat=THREE, record_service=True), consumers=[other])
    qs = [
        SimQuery("main", 0.0, 0),
        SimQuery("other-all", 0.0, 1, consumer="other", scheduler="all-models"),
        SimQuery("main-all", 0.0, 2, scheduler="all-models"),
    ]
    main, other_all, main_all = simulate(spec, qs).records
    assert (main.consumer, main.scheduler, main.members) == ("test", "single-best", 1)
    assert (other_all.consumer, other_all.scheduler, other_all.members) == ("other", "all-models", 3)
    assert main_all.scheduler == "all-models" and main_all.members == 3
    with pytest.raises(InvalidInput) as caught:
        simulate(spec, [SimQuery("q", 0.0, 0, consumer="nobody")])
    assert caught.value.problems[0].location == "queries[0].consumer"
    with pytest.raises(InvalidInput) as caught:
        simulate(replace(spec, consumers=[other, other]), qs)
    assert caught.value.problems[0].location == "consumers[1].consumer"
