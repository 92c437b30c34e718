"""Bootstrap CIs, paired tests and Holm against numbers worked out by hand, plus invariants."""

from __future__ import annotations

import itertools
import math

from hypothesis import given
from hypothesis import strategies as st

from rohe.experiments.stats import bootstrap_ci, holm, paired


def test_holm_by_hand() -> None:
    # sorted p: 0.01 (x3 = 0.03), 0.02 (x2 = 0.04), 0.04 (x1 = 0.04); returned in input order
    assert holm([0.04, 0.01, 0.02]) == [0.04, 0.03, 0.04]
    assert holm([0.5, math.nan, 0.6])[1] != holm([0.5, math.nan, 0.6])[1]  # NaN stays NaN
    assert holm([0.5, math.nan, 0.6])[0] == 1.0


@given(st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=30))
def test_holm_never_below_raw_and_keeps_order(p_values: list[float]) -> None:
    adjusted = holm(p_values)
    assert all(a >= p and a <= 1 for a, p in zip(adjusted, p_values, strict=True))
    ranked = sorted(range(len(p_values)), key=lambda i: p_values[i])
    assert all(adjusted[a] <= adjusted[b] for a, b in itertools.pairwise(ranked))


def test_mcnemar_exact_by_hand() -> None:
    # 10 discordant pairs, all one way: two-sided exact p = 2 x 0.5^10
    a = [1.0] * 10 + [0.0] * 5
    b = [0.0] * 10 + [0.0] * 5
    result = paired("late", "x", a, "y", b, binary=True)
    assert result.p_value == 2 * 0.5**10
    assert result.difference == -10 / 15
    assert result.pairs == 15


def test_identical_arms_are_not_different() -> None:
    values = [0.1, 0.5, 0.2, 0.9]
    result = paired("latency_s", "x", values, "y", values, binary=False)
    assert (result.p_value, result.difference, result.ci_low, result.ci_high) == (1.0, 0.0, 0.0, 0.0)


def test_nan_is_left_out_pairwise() -> None:
    result = paired("latency_s", "x", [1.0, math.nan, 3.0], "y", [2.0, 5.0, math.nan], binary=False)
    assert result.pairs == 1 and result.difference == 1.0


@given(st.lists(st.floats(min_value=-1e6, max_value=1e6), min_size=1, max_size=50), st.integers(0, 5))
def test_bootstrap_interval_holds_the_mean(values: list[float], seed: int) -> None:
    mean, low, high = bootstrap_ci(values, seed=seed, resamples=200)
    assert low <= high
    assert min(values) - 1e-6 <= low and high <= max(values) + 1e-6
    assert math.isclose(mean, sum(values) / len(values), rel_tol=1e-9, abs_tol=1e-6)
