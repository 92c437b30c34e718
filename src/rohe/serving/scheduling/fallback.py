"""The stated fallback when no ensemble satisfies a consumer's contract: the nearest-feasible ensemble.

Failing every request of a consumer whose contract cannot be met on today's profiles helps nobody and hides
the cause; serving it best-effort, and saying once what is broken and by how much, does not. Among the
candidates `rohe-ensemble` enumerates (min..max members, every node-type assignment), the nearest-feasible
one has the smallest total relative violation of the contract's constraints (the deadline's implied p99
bound included): for a bound b and aggregated value v, max(0, b - v) / |b| below a minimum and
max(0, v - b) / |b| above a maximum (|b| = 0 counts as 1). Ties go to the higher objective score, then to
enumeration order. A candidate missing a needed profile value is never chosen: nothing says how far it is.
Every request served this way is a contract breach and its plan carries `breach` saying why.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rohe.core.contracts import ConsumerContract
from rohe.core.contracts.model import Constraint
from rohe.core.profiles import ProfileCatalog
from rohe.serving.selection.space import build_space
from rohe.serving.selection.vectorized import aggregate_columns, candidate_blocks, score_block

_UNITS = {"response_time_p99": " ms", "cost": "/s", "throughput": " req/s"}


def describe(constraint: Constraint) -> str:
    """A constraint in words: `accuracy at least 0.95`, `cost at most 0.0005/s`, `miss_rate[3,8] ...`."""
    subject = constraint.metric.value.replace("_", " ")
    if constraint.classes:
        subject += f" of classes {', '.join(str(c) for c in constraint.classes)}"
    unit = _UNITS.get(constraint.metric.value, "")
    if constraint.min is not None and constraint.max is not None:
        return f"{subject} between {constraint.min:g} and {constraint.max:g}{unit}"
    if constraint.min is not None:
        return f"{subject} at least {constraint.min:g}{unit}"
    return f"{subject} at most {constraint.max:g}{unit}"


def _relative_violation(values: np.ndarray, constraint: Constraint) -> np.ndarray:
    violation = np.zeros(values.shape)
    if constraint.min is not None:
        violation += np.maximum(0.0, constraint.min - values) / (abs(constraint.min) or 1.0)
    if constraint.max is not None:
        violation += np.maximum(0.0, values - constraint.max) / (abs(constraint.max) or 1.0)
    return np.where(np.isnan(values), np.inf, violation)


@dataclass(frozen=True)
class NearestFeasible:
    """The best-effort ensemble: (model, node type) catalog indices, and each broken clause in words with the
    value this ensemble reaches."""

    members: tuple[tuple[int, int], ...]
    broken: tuple[str, ...]

    def reason(self, consumer: str) -> str:
        return (
            f"no ensemble satisfies the contract of {consumer!r}; best-effort nearest-feasible ensemble breaks "
            + "; ".join(self.broken)
        )


def nearest_feasible(contract: ConsumerContract, catalog: ProfileCatalog) -> NearestFeasible | None:
    """The candidate closest to satisfying `contract`, or None when no candidate has the values to judge."""
    space = build_space(contract, catalog)
    constraints = contract.all_constraints()
    # The objective score alone, for the tie-break: the same contract with no constraint and no deadline.
    relaxed = contract.model_copy(update={"constraints": (), "deadline_ms": None})
    relaxed_space = build_space(relaxed, catalog)
    best: tuple[float, float, tuple[tuple[int, int], ...], tuple[str, ...]] | None = None
    for size in range(contract.ensemble.min, min(contract.ensemble.max, len(space.model_ids)) + 1):
        combos, assigns = candidate_blocks(space, size)
        pairs = (combos[:, None, :] * len(space.node_ids) + assigns[None, :, :]).reshape(-1, size)
        total = np.zeros(len(pairs))
        aggregated = []
        for constraint, matrix in zip(constraints, space.constraint_values, strict=True):
            flat = matrix.reshape(-1)
            value = aggregate_columns([flat[pairs[:, j]] for j in range(size)], constraint.aggregation)
            aggregated.append(value)
            total += _relative_violation(value, constraint)
        score = score_block(relaxed, relaxed_space, combos, assigns)
        total = np.where(np.isfinite(score), total, np.inf)
        if not np.isfinite(total).any():
            continue
        # Least violation first, then the higher score; lexsort keeps enumeration order on a full tie.
        index = int(np.lexsort((-score, total))[0])
        if best is not None and (total[index], -score[index]) >= (best[0], -best[1]):
            continue
        members = tuple(
            (space.model_ids[int(p) // len(space.node_ids)], space.node_ids[int(p) % len(space.node_ids)])
            for p in pairs[index]
        )
        broken = tuple(
            f"{describe(c)} (this ensemble: {float(v[index]):.4g})"
            for c, v in zip(constraints, aggregated, strict=True)
            if _relative_violation(v[index : index + 1], c)[0] > 0
        )
        best = (float(total[index]), float(score[index]), members, broken)
    if best is None:
        return None
    return NearestFeasible(best[2], best[3])
