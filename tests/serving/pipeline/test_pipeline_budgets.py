"""Per-modality budgets: shares, clamps to what the profiles say, and never more than the deadline."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rohe.core.errors import InvalidInput
from rohe.serving.pipeline import ModalityNeed, modality_budgets, need_from_latencies, share_weights

OPEN = ModalityNeed(0.0, math.inf)


def test_equal_shares_by_default_and_contract_shares_otherwise() -> None:
    assert modality_budgets(90, {"a": OPEN, "b": OPEN, "c": OPEN}) == pytest.approx({"a": 30, "b": 30, "c": 30})
    assert modality_budgets(100, {"a": OPEN, "b": OPEN}, {"a": 3, "b": 1}) == pytest.approx({"a": 75, "b": 25})


def test_a_modality_the_contract_does_not_name_gets_the_mean_share() -> None:
    assert share_weights(["a", "b", "c"], {"a": 1, "b": 3}) == {"a": 1, "b": 3, "c": 2}


def test_capped_time_goes_to_the_others_first() -> None:
    # a may use at most 20 ms; b takes the rest.
    budgets = modality_budgets(100, {"a": ModalityNeed(5, 20), "b": OPEN})
    assert budgets == pytest.approx({"a": 20, "b": 80})


def test_floors_lift_a_small_share_and_everything_shrinks_to_fit() -> None:
    budgets = modality_budgets(100, {"a": ModalityNeed(40, math.inf), "b": OPEN}, {"a": 1, "b": 9})
    assert budgets == pytest.approx({"a": 40, "b": 60})  # a is lifted to its floor, b gives way
    squeezed = modality_budgets(50, {"a": ModalityNeed(40, 80), "b": ModalityNeed(60, 120)})
    assert sum(squeezed.values()) == pytest.approx(50) and squeezed["b"] > squeezed["a"]


def test_time_nobody_can_use_is_still_handed_out_by_share() -> None:
    budgets = modality_budgets(100, {"a": ModalityNeed(1, 10), "b": ModalityNeed(1, 30)})
    assert budgets == pytest.approx({"a": 10 + 30, "b": 30 + 30})


def test_need_comes_from_the_fastest_p50_and_twice_the_slowest_p99() -> None:
    assert need_from_latencies([2, 5], [10, 40]) == ModalityNeed(2, 80)
    assert need_from_latencies([2, math.nan], [10, math.inf]).upper_ms == math.inf


def test_no_time_left_is_an_input_error() -> None:
    with pytest.raises(InvalidInput) as caught:
        modality_budgets(0, {"a": OPEN})
    assert caught.value.problems[0].location == "deadline_ms"


needs = st.builds(
    lambda low, extra: ModalityNeed(low, low + extra),
    st.floats(0, 500),
    st.one_of(st.floats(0, 500), st.just(math.inf)),
)


@given(
    st.floats(0.1, 5000),
    st.dictionaries(st.sampled_from("abcde"), needs, min_size=1),
    st.one_of(st.none(), st.dictionaries(st.sampled_from("abcde"), st.floats(0.01, 10), min_size=1)),
)
def test_budgets_never_exceed_the_deadline(
    remaining: float, need: dict[str, ModalityNeed], shares: dict[str, float] | None
) -> None:
    budgets = modality_budgets(remaining, need, shares)
    assert set(budgets) == set(need)
    assert all(b >= 0 for b in budgets.values())
    assert sum(budgets.values()) <= remaining * (1 + 1e-9)
