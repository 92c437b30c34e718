"""Uncertainty and significance over queries: bootstrap CIs, paired tests on identical queries, Holm.

- `bootstrap_ci`: percentile interval of the mean over `resamples` resamples of the queries (seeded).
- `paired`: two arms that answered the same query ids; the difference of means (b - a) with a paired
  bootstrap CI, and an exact test: McNemar (binomial on the discordant pairs) for yes/no outcomes, Wilcoxon
  signed-rank for numbers (scipy; "zsplit" keeps zero differences). No discordant pair / all-zero
  differences give p = 1.
- `holm`: Holm-Bonferroni step-down adjusted p-values, in the order given.
Missing values (NaN: e.g. latency of an unanswered query) are left out pairwise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
DEFAULT_RESAMPLES = 2000
CONFIDENCE = 0.95


def bootstrap_ci(
    values: Sequence[float] | FloatArray, *, seed: int = 0, resamples: int = DEFAULT_RESAMPLES
) -> tuple[float, float, float]:
    """(mean, low, high); NaN values are dropped; an empty input gives NaNs."""
    data = np.asarray(values, dtype=np.float64)
    data = data[~np.isnan(data)]
    if len(data) == 0:
        return math.nan, math.nan, math.nan
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, len(data), size=(resamples, len(data)))].mean(axis=1)
    alpha = (1 - CONFIDENCE) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return float(data.mean()), float(low), float(high)


@dataclass(frozen=True)
class PairedResult:
    metric: str
    arm_a: str
    arm_b: str
    pairs: int
    mean_a: float
    mean_b: float
    difference: float  # mean(b - a)
    ci_low: float
    ci_high: float
    test: str
    p_value: float
    p_holm: float = math.nan


def paired(
    metric: str, arm_a: str, a: Sequence[float], arm_b: str, b: Sequence[float], *, binary: bool, seed: int = 0
) -> PairedResult:
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    if len(x) == 0:
        return PairedResult(metric, arm_a, arm_b, 0, math.nan, math.nan, math.nan, math.nan, math.nan, "none", math.nan)
    diff = y - x
    mean, low, high = bootstrap_ci(diff, seed=seed)
    if binary:
        test, p = "mcnemar-exact", _mcnemar(x, y)
    else:
        test, p = "wilcoxon", _wilcoxon(diff)
    return PairedResult(metric, arm_a, arm_b, len(x), float(x.mean()), float(y.mean()), mean, low, high, test, p)


def _mcnemar(x: FloatArray, y: FloatArray) -> float:
    from scipy.stats import binomtest  # type: ignore[import-untyped]

    only_a = int(np.sum((x == 1) & (y == 0)))
    only_b = int(np.sum((x == 0) & (y == 1)))
    if only_a + only_b == 0:
        return 1.0
    return float(binomtest(only_a, only_a + only_b, 0.5).pvalue)


def _wilcoxon(diff: FloatArray) -> float:
    from scipy.stats import wilcoxon

    if not np.any(diff != 0):
        return 1.0
    return float(wilcoxon(diff, zero_method="zsplit").pvalue)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values (NaN stays NaN and is not counted), capped at 1, monotone in rank."""
    indexed = [(p, i) for i, p in enumerate(p_values) if not math.isnan(p)]
    indexed.sort()
    m = len(indexed)
    adjusted = [math.nan] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(indexed):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted
