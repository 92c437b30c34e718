"""Per-arm summary with bootstrap CIs and paired tests against a baseline arm, from stored rows only.

Per arm (all repetitions pooled): late ratio over all queries, accuracy over answered queries, members and
cost per query, latency percentiles over answered queries, each mean with its 95% bootstrap CI over
queries. Paired tests compare every arm with the baseline on the same (repetition, query id): McNemar for
late and correct, Wilcoxon for members, cost and latency; Holm corrects over all of them together.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from rohe.experiments.rows import Row
from rohe.experiments.stats import PairedResult, bootstrap_ci, holm, paired


def _late(row: Row) -> float:
    return float(row.late)


def _correct(row: Row) -> float:
    return math.nan if row.correct is None else float(row.correct)


def _members(row: Row) -> float:
    return float(row.members)


def _cost(row: Row) -> float:
    return row.cost


def _latency(row: Row) -> float:
    return row.latency_s


# metric -> (value of a row, binary?)
METRICS: dict[str, tuple[Callable[[Row], float], bool]] = {
    "late": (_late, True),
    "correct": (_correct, True),
    "members": (_members, False),
    "cost": (_cost, False),
    "latency_s": (_latency, False),
}


@dataclass(frozen=True)
class ArmSummary:
    arm: str
    queries: int
    answered: int
    late_ratio: float
    late_ci_low: float
    late_ci_high: float
    accuracy: float
    accuracy_ci_low: float
    accuracy_ci_high: float
    members_mean: float
    members_ci_low: float
    members_ci_high: float
    cost_mean: float
    cost_ci_low: float
    cost_ci_high: float
    latency_p50_s: float
    latency_p95_s: float
    latency_p99_s: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def arms_in_order(rows: Sequence[Row]) -> list[str]:
    return list(dict.fromkeys(r.arm for r in rows))


def summarise(rows: Sequence[Row], seed: int = 0) -> list[ArmSummary]:
    result = []
    for arm in arms_in_order(rows):
        mine = [r for r in rows if r.arm == arm]
        late = bootstrap_ci([float(r.late) for r in mine], seed=seed)
        acc = bootstrap_ci([_correct(r) for r in mine], seed=seed)
        members = bootstrap_ci([float(r.members) for r in mine], seed=seed)
        cost = bootstrap_ci([r.cost for r in mine], seed=seed)
        latency = np.asarray([r.latency_s for r in mine if r.answered and not math.isnan(r.latency_s)])
        p50, p95, p99 = (float(v) for v in np.percentile(latency, [50, 95, 99])) if len(latency) else (math.nan,) * 3
        result.append(
            ArmSummary(arm, len(mine), sum(r.answered for r in mine), *late, *acc, *members, *cost, p50, p95, p99)
        )
    return result


def paired_tests(rows: Sequence[Row], baseline: str | None = None, seed: int = 0) -> list[PairedResult]:
    arms = arms_in_order(rows)
    if not arms:
        return []
    base = baseline if baseline in arms else arms[0]
    by_arm: dict[str, dict[tuple[int, str], Row]] = {}
    for r in rows:
        by_arm.setdefault(r.arm, {})[(r.repetition, r.query_id)] = r
    results = []
    for arm in arms:
        if arm == base:
            continue
        keys = sorted(set(by_arm[base]) & set(by_arm[arm]))
        if not keys:
            continue  # different queries (e.g. another recorded run): nothing to pair
        for metric, (value, binary) in METRICS.items():
            a = [value(by_arm[base][k]) for k in keys]
            b = [value(by_arm[arm][k]) for k in keys]
            results.append(paired(metric, base, a, arm, b, binary=binary, seed=seed))
    adjusted = holm([p.p_value for p in results])
    return [PairedResult(**{**asdict(p), "p_holm": q}) for p, q in zip(results, adjusted, strict=True)]


def _fmt(value: float, digits: int = 3) -> str:
    return "-" if math.isnan(value) else f"{value:.{digits}f}"


def markdown(summaries: Sequence[ArmSummary], tests: Sequence[PairedResult]) -> str:
    lines = [
        "| arm | queries | late ratio [95% CI] | accuracy [95% CI] | members | cost | p99 latency (ms) |",
        "|---|---:|---|---|---:|---:|---:|",
    ]
    for s in summaries:
        lines.append(
            f"| {s.arm} | {s.queries} | {_fmt(s.late_ratio)} [{_fmt(s.late_ci_low)}, {_fmt(s.late_ci_high)}]"
            f" | {_fmt(s.accuracy)} [{_fmt(s.accuracy_ci_low)}, {_fmt(s.accuracy_ci_high)}]"
            f" | {_fmt(s.members_mean, 2)} | {_fmt(s.cost_mean, 6)} | {_fmt(1000 * s.latency_p99_s, 1)} |"
        )
    if tests:
        lines += [
            "",
            "Paired on identical queries (difference = arm - baseline; p after Holm over all tests):",
            "",
            "| metric | baseline | arm | pairs | difference [95% CI] | test | p (Holm) |",
            "|---|---|---|---:|---|---|---:|",
        ]
        for t in tests:
            lines.append(
                f"| {t.metric} | {t.arm_a} | {t.arm_b} | {t.pairs} | {_fmt(t.difference, 4)}"
                f" [{_fmt(t.ci_low, 4)}, {_fmt(t.ci_high, 4)}] | {t.test} | {_fmt(t.p_holm, 4)} |"
            )
    return "\n".join(lines) + "\n"
