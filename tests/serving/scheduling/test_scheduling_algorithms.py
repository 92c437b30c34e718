from __future__ import annotations

import math

import pytest
from scheduling_cases import contract, prepared, profile, request, said, zoo

from rohe.core.errors import InvalidInput
from rohe.core.profiles import ProfileCatalog
from rohe.serving.scheduling import (
    DEFAULT_CONFIDENCE_THRESHOLD,
    Adaptive,
    AllModels,
    Dream,
    Escalation,
    Fastest,
    LeastLaxityFirst,
    Oracle,
    RandomSubset,
    SelectedEnsemble,
    SingleBest,
    prepare,
)
from rohe.serving.selection.algorithms import RoheEnsemble


def test_adaptive_starts_with_the_cheapest_minimum_ensemble() -> None:
    plan = Adaptive().plan(request(prepared(low=2, high=4), 100))
    assert plan.members == ["tiny", "small"]
    assert isinstance(plan.phase1, Escalation)


def test_adaptive_does_not_escalate_when_members_agree_confidently() -> None:
    plan = Adaptive().plan(request(prepared(low=2, high=4), 100))
    assert plan.phase1 is not None
    agree = [said("tiny", (0.9, 0.05, 0.05)), said("small", (0.85, 0.1, 0.05))]
    assert plan.phase1.after(agree) == []


def test_adaptive_escalates_on_disagreement_with_top_class_specialists() -> None:
    plan = Adaptive().plan(request(prepared(low=2, high=4), 100))
    assert plan.phase1 is not None
    split = [said("tiny", (0.9, 0.1, 0.0)), said("small", (0.05, 0.95, 0.0))]
    # huge (p99 120) cannot fit in what phase 0 leaves; the two specialists lead on classes 0 and 1.
    added = plan.phase1.after(split)
    assert set(added) == {"cat-expert", "dog-expert"}
    assert "huge" not in added


def test_adaptive_escalates_on_low_confidence_even_when_members_agree() -> None:
    plan = Adaptive().plan(request(prepared(low=1, high=2), 100))
    assert plan.members == ["tiny"]
    assert plan.phase1 is not None
    unsure = [said("tiny", (0.5, 0.45, 0.05))]
    assert unsure[0].confidence < DEFAULT_CONFIDENCE_THRESHOLD
    assert plan.phase1.after(unsure) == ["cat-expert"]  # one slot left; best on classes 0 and 1 together


def test_adaptive_threshold_comes_from_a_confidence_constraint() -> None:
    consumer = prepared(low=1, high=2, constraints=[{"metric": "confidence", "min": 0.4}])
    assert consumer.confidence_threshold == 0.4
    plan = Adaptive().plan(request(consumer, 100))
    assert plan.phase1 is not None
    assert plan.phase1.after([said("tiny", (0.5, 0.45, 0.05))]) == []


def test_dream_drops_infeasible_and_dispatches_most_urgent_first() -> None:
    plan = Dream().plan(request(prepared(high=3), 50))
    # huge misses 50 ms; the three most accurate others run, slowest-relative-to-slack first.
    assert plan.members == ["dog-expert", "cat-expert", "small"]


def test_dream_priority_grows_with_the_age_of_the_oldest_waiting_request() -> None:
    fresh = Dream().plan(request(prepared(), 50))
    starving = Dream().plan(request(prepared(), 50, oldest_waiting_ms=200))
    assert starving.priority > fresh.priority
    assert starving.members == fresh.members


def test_llf_orders_by_laxity_and_drops_negative_laxity() -> None:
    plan = LeastLaxityFirst().plan(request(prepared(high=5), 40))
    assert plan.members == ["dog-expert", "cat-expert", "small", "tiny"]  # laxity 0, 10, 30, 35
    assert plan.priority == 0.0


def test_single_best_is_the_most_accurate_model_that_fits() -> None:
    assert SingleBest().plan(request(prepared(), 200)).members == ["huge"]
    assert SingleBest().plan(request(prepared(), 50)).members == ["cat-expert"]


def test_fastest_is_the_lowest_p99_that_fits_cheaper_on_a_tie() -> None:
    assert Fastest().plan(request(prepared(), 200)).members == ["tiny"]
    assert Fastest().plan(request(prepared(models=("huge", "dog-expert")), 200)).members == ["dog-expert"]
    assert Fastest().plan(request(prepared(), 4)).members == []
    tied = prepare(
        contract(), zoo().merged(ProfileCatalog.of([profile("tiny-2", 2, 5, 0.5, cost=0.05, node_type="cpu")]))
    )
    assert Fastest().plan(request(tied, 200)).members == ["tiny-2"]


def test_all_models_ignores_deadline_but_keeps_budgets_within_it() -> None:
    plan = AllModels().plan(request(prepared(high=2), 20))
    assert len(plan.members) == 5
    assert math.fsum(t.budget_ms for t in plan.phase0) <= 20 + 1e-9


def test_oracle_picks_the_specialist_for_the_true_class() -> None:
    assert Oracle().plan(request(prepared(high=1), 50, ground_truth=0)).members == ["cat-expert"]
    assert Oracle().plan(request(prepared(high=1), 50, ground_truth=1)).members == ["dog-expert"]


def test_oracle_refuses_without_ground_truth() -> None:
    with pytest.raises(InvalidInput) as caught:
        Oracle().plan(request(prepared(), 50))
    assert caught.value.problems[0].location == "ground_truth"


def test_random_is_seeded_and_within_bounds() -> None:
    consumer = prepared(low=2, high=3)
    first = [RandomSubset().plan(request(consumer, 100, seed=s)).members for s in range(20)]
    again = [RandomSubset().plan(request(consumer, 100, seed=s)).members for s in range(20)]
    assert first == again
    assert all(2 <= len(m) <= 3 and len(set(m)) == len(m) for m in first)
    assert "huge" not in {name for m in first for name in m}
    assert len({tuple(m) for m in first}) > 1


def test_budgets_are_clamped_to_profile_percentiles() -> None:
    plan = SingleBest().plan(request(prepared(), 1000))
    assert plan.phase0[0].budget_ms == 120  # p99 of huge caps its share
    tight = Dream().plan(request(prepared(high=1), 31))
    assert 10 <= tight.phase0[0].budget_ms <= 30  # cat-expert within [p50, p99]


def test_contract_model_filter_and_node_types_restrict_members() -> None:
    consumer = prepare(contract(models=["tiny", "huge"]), zoo())
    assert SingleBest().plan(request(consumer, 200)).members == ["huge"]
    plan = Dream().plan(request(consumer, 200, node_types=("gpu",)))
    assert set(plan.members) == {"tiny", "huge"}
    assert {t.node_type for t in plan.phase0} == {"gpu"}


def test_unknown_node_type_and_bad_deadline_name_the_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        Dream().plan(request(prepared(), 50, node_types=("tpu",)))
    assert caught.value.problems[0].location == "node_types[0]"
    with pytest.raises(InvalidInput) as late:
        request(prepared(), 0)
    assert late.value.problems[0].location == "remaining_ms"


def test_nothing_feasible_gives_an_empty_phase0() -> None:
    assert Dream().plan(request(prepared(), 1)).members == []
    assert Adaptive().plan(request(prepared(), 1)).members == []


def measured_zoo() -> ProfileCatalog:
    """The zoo with throughput measured, which rohe-ensemble needs to size replicas."""
    return ProfileCatalog.of(p.model_copy(update={"throughput_rps": 100.0}) for p in zoo().profiles)


def test_rohe_ensemble_serves_the_searched_ensemble_and_drops_late_members() -> None:
    consumer = prepare(contract(2, 3), measured_zoo())
    chosen = [m.model for m in RoheEnsemble().search(consumer.contract, consumer.catalog).members]
    scheduler = SelectedEnsemble()
    assert scheduler.name == "rohe-ensemble"
    assert scheduler.plan(request(consumer, 1_000)).members == chosen
    # Chosen once per consumer, not per request.
    assert list(consumer.precomputed) == [("rohe-ensemble", None)]
    tight = min((consumer.catalog.profile(m, "gpu") or profile(m, 0, math.inf, 0)).latency_p99_ms or math.inf
                for m in chosen)
    fits = scheduler.plan(request(consumer, tight)).members
    assert fits and set(fits) < set(chosen)


def test_rohe_ensemble_without_a_feasible_ensemble_serves_the_nearest_one_as_a_breach() -> None:
    impossible = prepare(
        contract(1, 1, constraints=[{"metric": "accuracy", "aggregate": "max", "min": 0.99}]), measured_zoo()
    )
    plan = SelectedEnsemble().plan(request(impossible, 1_000))
    assert plan.members == ["huge"]  # 0.90 is the nearest to 0.99
    assert plan.scheduler == "rohe-ensemble (best-effort)"
    assert plan.breach is not None and "accuracy at least 0.99" in plan.breach
