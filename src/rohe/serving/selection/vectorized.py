"""NumPy scoring of many candidates at once; mirrors scoring.py operation by operation."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import combinations, product
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from rohe.core.contracts import Aggregation, ConsumerContract, Objective
from rohe.core.contracts.model import Constraint, Direction
from rohe.core.profiles.catalog import FloatArray
from rohe.serving.selection.space import CandidateSpace

IntArray = npt.NDArray[np.int64]
T = TypeVar("T")
CHUNK = 1 << 17  # candidates per batch: bounds memory at a few MB per metric


def aggregate_columns(columns: list[FloatArray], how: Aggregation) -> FloatArray:
    if how is Aggregation.MAX:
        return np.maximum.reduce(columns) if len(columns) > 1 else columns[0]
    if how is Aggregation.MIN:
        return np.minimum.reduce(columns) if len(columns) > 1 else columns[0]
    if how is Aggregation.COMPLEMENT_PRODUCT:
        return 1.0 - aggregate_columns([1.0 - c for c in columns], Aggregation.PRODUCT)
    total = columns[0]
    for column in columns[1:]:
        total = total * column if how is Aggregation.PRODUCT else total + column
    return total / len(columns) if how is Aggregation.MEAN else total


def scale_array(values: FloatArray, objective: Objective) -> FloatArray:
    low, high = objective.min, objective.max
    if objective.scale.kind == "log":
        clipped = np.where(values <= low, low, np.minimum(values, high))
        log_base = np.log(objective.scale.base)
        lo, hi = np.log(low) / log_base, np.log(high) / log_base
        position = (np.log(clipped) / log_base - lo) / (hi - lo)
    else:
        position = (np.clip(values, low, high) - low) / (high - low)
    result: FloatArray = 1.0 - position if objective.direction is Direction.MINIMIZE else position
    return result


def _within(values: FloatArray, constraint: Constraint) -> npt.NDArray[np.bool_]:
    ok = ~np.isnan(values)
    if constraint.min is not None:
        ok &= values >= constraint.min
    if constraint.max is not None:
        ok &= values <= constraint.max
    return ok


def candidate_blocks(space: CandidateSpace, size: int) -> tuple[IntArray, IntArray]:
    """Member model positions (combinations, lexicographic) and node positions in ROHE's order."""
    combos = np.array(list(combinations(range(len(space.model_ids)), size)), dtype=np.int64).reshape(-1, size)
    assigns = np.array(list(assignments(range(len(space.node_ids)), size)), dtype=np.int64).reshape(-1, size)
    return combos, assigns


def assignments(nodes: Sequence[T], size: int) -> Iterator[tuple[T, ...]]:
    """Every assignment of `size` members to `nodes`, the first member's node varying fastest: ROHE's
    enumeration (a counter whose lowest digit is the first member), so an exact tie goes where ROHE puts it."""
    for reversed_assignment in product(nodes, repeat=size):
        yield reversed_assignment[::-1]


def score_block(contract: ConsumerContract, space: CandidateSpace, combos: IntArray, assigns: IntArray) -> FloatArray:
    """Scores of every (combo, assignment) pair, combo-major; -inf where infeasible."""
    n_nodes = len(space.node_ids)
    pairs = combos[:, None, :] * n_nodes + assigns[None, :, :]
    pairs = pairs.reshape(-1, combos.shape[1])
    member_pairs = [pairs[:, j] for j in range(pairs.shape[1])]

    def columns(matrix: FloatArray) -> list[FloatArray]:
        flat = matrix.reshape(-1)
        return [flat[p] for p in member_pairs]

    score = np.zeros(pairs.shape[0])
    feasible = np.ones(pairs.shape[0], dtype=bool)
    for objective, matrix in zip(contract.objectives, space.objective_values, strict=True):
        cols = columns(matrix)
        aggregated = aggregate_columns(cols, objective.aggregation)
        for col in cols:
            feasible &= ~np.isnan(col)
        with np.errstate(invalid="ignore", divide="ignore"):
            score = score + objective.weight * scale_array(aggregated, objective)
    for constraint, matrix in zip(contract.all_constraints(), space.constraint_values, strict=True):
        cols = columns(matrix)
        for col in cols:
            feasible &= ~np.isnan(col)
        feasible &= _within(aggregate_columns(cols, constraint.aggregation), constraint)
    return np.where(feasible, score, -np.inf)


def all_scores(contract: ConsumerContract, space: CandidateSpace, size: int) -> tuple[FloatArray, IntArray, IntArray]:
    combos, assigns = candidate_blocks(space, size)
    rows_per_chunk = max(1, CHUNK // max(1, len(assigns)))
    parts = [
        score_block(contract, space, combos[start : start + rows_per_chunk], assigns)
        for start in range(0, len(combos), rows_per_chunk)
    ]
    scores = np.concatenate(parts) if parts else np.empty(0)
    return scores, combos, assigns


def pick(scores: FloatArray, tolerance: float) -> int | None:
    """Index of the first candidate within `tolerance` of the best score; None if nothing is feasible."""
    if scores.size == 0:
        return None
    best = float(np.max(scores))
    if best == -np.inf:
        return None
    return int(np.argmax(scores >= best - tolerance))
