"""Aggregation and scaling against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rohe.core.contracts import Aggregation, Objective
from rohe.serving.selection import aggregate, scale
from rohe.serving.selection.vectorized import aggregate_columns, scale_array


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        (Aggregation.MEAN, 0.4),
        (Aggregation.MAX, 0.6),
        (Aggregation.MIN, 0.2),
        (Aggregation.PRODUCT, 0.048),  # 0.2 * 0.4 * 0.6
        (Aggregation.COMPLEMENT_PRODUCT, 0.808),  # 1 - 0.8 * 0.6 * 0.4
        (Aggregation.SUM, 1.2),
    ],
)
def test_aggregations(how: Aggregation, expected: float) -> None:
    values = [0.2, 0.4, 0.6]
    assert aggregate(values, how) == pytest.approx(expected)
    columns = [np.array([v]) for v in values]
    assert aggregate_columns(columns, how)[0] == aggregate(values, how)  # identical, not just close


def objective(**kw: object) -> Objective:
    base: dict[str, object] = {"metric": "accuracy", "direction": "maximize", "min": 0.5, "max": 1.0}
    base.update(kw)
    return Objective.model_validate(base)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.75, 0.5), (0.5, 0.0), (1.0, 1.0), (0.2, 0.0), (3.0, 1.0)],  # clipped outside [min, max]
)
def test_linear_scale_maximize(value: float, expected: float) -> None:
    assert scale(value, objective()) == pytest.approx(expected)


def test_linear_scale_minimize_flips() -> None:
    assert scale(0.6, objective(direction="minimize")) == pytest.approx(0.8)


def test_log_scale_by_hand() -> None:
    # log10 range 1e-3..1e-1: 1e-2 sits half way; minimising flips it to 0.5 as well
    miss = objective(metric="miss_rate", classes=[1], direction="min", min=1e-3, max=1e-1, scale={"kind": "log"})
    assert scale(1e-2, miss) == pytest.approx(0.5)
    assert scale(1e-4, miss) == pytest.approx(1.0)  # below min: best possible
    assert scale(0.0, miss) == pytest.approx(1.0)  # zero misses: treated as min, as ROHE does
    assert scale(0.5, miss) == pytest.approx(0.0)
    acc = objective(min=0.6, max=0.9999, scale={"kind": "log", "base": 2})
    expected = (math.log(0.9) - math.log(0.6)) / (math.log(0.9999) - math.log(0.6))
    assert scale(0.9, acc) == pytest.approx(expected)


def test_array_scaling_matches_scalar() -> None:
    values = np.array([0.0, 1e-5, 1e-3, 0.01, 0.05, 0.1, 0.7])
    for kw in ({"scale": {"kind": "log", "base": 3}}, {}):
        obj = objective(metric="miss_rate", classes=[0], direction="min", min=1e-3, max=0.1, **kw)
        scalar = [scale(float(v), obj) for v in values]
        np.testing.assert_allclose(scale_array(values, obj), scalar, rtol=0, atol=1e-12)
