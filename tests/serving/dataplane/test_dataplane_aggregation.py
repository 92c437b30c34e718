"""Aggregation strategies on hand-computed cases."""

from __future__ import annotations

import pytest

from rohe.core.errors import InvalidInput, NotFound
from rohe.core.profiles import ModelProfile
from rohe.serving.dataplane import MemberPrediction, WeightedVote, accuracy_weights, aggregator_names, make_aggregator


def member(model: str, *probabilities: float) -> MemberPrediction:
    best = max(range(len(probabilities)), key=lambda c: (probabilities[c], -c))
    return MemberPrediction(model, tuple(probabilities), best, probabilities[best])


A = member("a", 0.6, 0.3, 0.1)
B = member("b", 0.2, 0.7, 0.1)
C = member("c", 0.5, 0.1, 0.4)


def test_registry_lists_the_four_strategies_and_rejects_unknown_names() -> None:
    assert aggregator_names() == ["majority", "max-confidence", "mean", "weighted"]
    with pytest.raises(NotFound) as caught:
        make_aggregator("median")
    assert "majority" in caught.value.problems[0].hint


def test_majority_counts_votes_and_reports_the_mean_vector() -> None:
    result = make_aggregator("majority").aggregate([A, B, C])
    assert result.predicted_class == 0  # a and c vote 0, b votes 1
    assert result.probabilities == pytest.approx((1.3 / 3, 1.1 / 3, 0.6 / 3))
    assert result.confidence == pytest.approx(1.3 / 3)
    assert result.agreement == pytest.approx(2 / 3)
    assert result.members == ("a", "b", "c")


def test_majority_tie_goes_to_higher_summed_probability_then_lowest_class() -> None:
    # one vote each for 0 and 1; class 1 has more summed probability (0.2 + 0.9 vs 0.55 + 0.1)
    x = member("x", 0.55, 0.45, 0.0)
    y = member("y", 0.1, 0.9, 0.0)
    assert make_aggregator("majority").aggregate([x, y]).predicted_class == 1
    # a perfect tie on both votes and sums: class 0 wins on its lower id
    p = member("p", 0.6, 0.4)
    q = MemberPrediction("q", (0.4, 0.6), 1, 0.6)
    result = make_aggregator("majority").aggregate([p, q])
    assert result.predicted_class == 0 and result.agreement == 0.5


def test_weighted_by_model_weight_lets_one_good_model_outvote_two() -> None:
    result = WeightedVote({"a": 0.2, "b": 0.9, "c": 0.3}).aggregate([A, B, C])
    assert result.predicted_class == 1  # 0.9 for class 1 against 0.2 + 0.3 for class 0
    assert result.probabilities[1] == pytest.approx((0.2 * 0.3 + 0.9 * 0.7 + 0.3 * 0.1) / 1.4)
    assert result.agreement == pytest.approx(1 / 3)


def test_weighted_by_confidence_when_no_weights_are_given() -> None:
    # a: 0.6 for class 0, b: 0.7 for class 1, c: 0.5 for class 0 -> class 0 with 1.1
    assert make_aggregator("weighted").aggregate([A, B, C]).predicted_class == 0
    assert make_aggregator("weighted").aggregate([A, B]).predicted_class == 1


def test_weighted_rejects_missing_negative_and_all_zero_weights() -> None:
    with pytest.raises(InvalidInput, match="no weight") as caught:
        WeightedVote({"a": 1.0}).aggregate([A, B])
    assert caught.value.problems[0].location == "weights.b"
    with pytest.raises(InvalidInput):
        WeightedVote({"a": -1.0})
    with pytest.raises(InvalidInput, match="zero"):
        WeightedVote({"a": 0.0, "b": 0.0}).aggregate([A, B])


def test_mean_is_soft_voting() -> None:
    result = make_aggregator("mean").aggregate([A, B])
    assert result.probabilities == pytest.approx((0.4, 0.5, 0.1))
    assert result.predicted_class == 1 and result.confidence == pytest.approx(0.5)
    assert result.agreement == 0.5


def test_max_confidence_trusts_the_most_confident_member() -> None:
    result = make_aggregator("max-confidence").aggregate([A, B, C])
    assert result.predicted_class == 1
    assert result.probabilities == pytest.approx(B.probabilities)
    assert result.agreement == pytest.approx(1 / 3)


def test_vectors_are_renormalised() -> None:
    result = make_aggregator("mean").aggregate([member("a", 2.0, 2.0, 4.0)])
    assert result.probabilities == pytest.approx((0.25, 0.25, 0.5))


def test_bad_members_are_reported_with_their_location() -> None:
    with pytest.raises(InvalidInput):
        make_aggregator("mean").aggregate([])
    with pytest.raises(InvalidInput) as caught:
        make_aggregator("mean").aggregate([A, member("short", 0.5, 0.5)])
    assert caught.value.problems[0].location == "members[1] (short).probabilities"
    with pytest.raises(InvalidInput):
        make_aggregator("majority").aggregate([MemberPrediction("nan", (float("nan"), 1.0), 1, 1.0)])
    with pytest.raises(InvalidInput, match="cannot be aggregated"):
        make_aggregator("majority").aggregate([MemberPrediction("oob", (0.5, 0.5), 7, 0.5)])


def test_accuracy_weights_come_from_profiles() -> None:
    profiles = [
        ModelProfile(model="a", node_type="jetson", accuracy=0.8),
        ModelProfile(model="a", node_type="pi", accuracy=0.6),
        ModelProfile(model="b", node_type="pi", accuracy=0.9),
    ]
    assert accuracy_weights(profiles) == pytest.approx({"a": 0.7, "b": 0.9})
    assert accuracy_weights(profiles, node_type="pi") == pytest.approx({"a": 0.6, "b": 0.9})
    weighted = WeightedVote(accuracy_weights(profiles, node_type="pi")).aggregate([A, B])
    assert weighted.predicted_class == 1
    with pytest.raises(InvalidInput) as caught:
        accuracy_weights([*profiles, ModelProfile(model="c", node_type="pi")])
    assert caught.value.problems[0].location == "profiles.c.accuracy"
