"""Invariants every aggregation strategy keeps, whatever the members say."""

from __future__ import annotations

import math
from random import Random

from hypothesis import given, settings
from hypothesis import strategies as st

from rohe.serving.dataplane import MemberPrediction, WeightedVote, aggregator_names, make_aggregator

CLASSES = 4


@st.composite
def members(draw: st.DrawFn) -> list[MemberPrediction]:
    count = draw(st.integers(1, 6))
    result = []
    for index in range(count):
        raw = draw(st.lists(st.floats(0, 1, allow_nan=False), min_size=CLASSES, max_size=CLASSES))
        if math.fsum(raw) == 0:
            raw[draw(st.integers(0, CLASSES - 1))] = 1.0
        total = math.fsum(raw)
        vector = tuple(p / total for p in raw)
        best = max(range(CLASSES), key=lambda c: (vector[c], -c))
        result.append(MemberPrediction(f"m{index}", vector, best, vector[best]))
    return result


@settings(max_examples=150, deadline=None)
@given(members(), st.sampled_from(aggregator_names()), st.randoms(use_true_random=False))
def test_invariants(group: list[MemberPrediction], name: str, random: Random) -> None:
    aggregator = make_aggregator(name)
    result = aggregator.aggregate(group)
    assert math.isclose(math.fsum(result.probabilities), 1.0, abs_tol=1e-9)
    assert all(p >= 0 for p in result.probabilities)
    assert 0 < result.agreement <= 1 or name == "mean"
    assert result.confidence == result.probabilities[result.predicted_class]
    if name in ("majority", "weighted", "max-confidence"):
        assert result.predicted_class in {m.predicted_class for m in group}
    shuffled = list(group)
    random.shuffle(shuffled)
    assert aggregator.aggregate(shuffled) == result


@settings(max_examples=100, deadline=None)
@given(members(), st.data())
def test_weighted_by_model_weight_votes_for_a_member_and_ignores_order(
    group: list[MemberPrediction], data: st.DataObject
) -> None:
    weights = {m.model: data.draw(st.floats(0.01, 1.0)) for m in group}
    aggregator = WeightedVote(weights)
    result = aggregator.aggregate(group)
    assert result.predicted_class in {m.predicted_class for m in group}
    assert aggregator.aggregate(list(reversed(group))) == result
