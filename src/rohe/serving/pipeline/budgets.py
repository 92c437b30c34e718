"""Splitting what is left of a request's deadline over the modalities it carries.

Each modality gets the consumer's share (contract `modality_budgets`, equal by default), clamped to what its
models need according to the profiles: at least the p50 of its fastest model (less is pointless), at most
twice the p99 of its slowest (room for a phase 0 and an escalation phase). Time a capped modality cannot
use goes to the others, by share, and a modality lifted to its floor takes its time from the others. Time
beyond every cap is still handed out, by share, rather than withheld: profiles measure inference, not the
network, so a member running past its profiled p99 should still have until the deadline. The budgets never
sum to more than the deadline: when the floors alone exceed it, the floors shrink in proportion.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rohe.core.errors import InvalidInput, Problem

# Phase 0 plus one escalation phase, each up to the slowest member's p99.
PHASES_PROVISIONED = 2


@dataclass(frozen=True)
class ModalityNeed:
    """What the profiles say a modality's usable models need, in ms (inf upper: unknown, so unbounded)."""

    lower_ms: float
    upper_ms: float


def need_from_latencies(p50: Sequence[float], p99: Sequence[float]) -> ModalityNeed:
    """From the usable models' p50 and p99 (NaN or inf where unknown)."""
    known_p50 = [x for x in p50 if math.isfinite(x)]
    known_p99 = [x for x in p99 if math.isfinite(x)]
    lower = min(known_p50) if known_p50 else 0.0
    upper = PHASES_PROVISIONED * max(known_p99) if known_p99 and len(known_p99) == len(p99) else math.inf
    return ModalityNeed(lower, max(upper, lower))


def share_weights(modalities: Sequence[str], shares: Mapping[str, float] | None) -> dict[str, float]:
    """Shares for the modalities present; a modality the contract does not name gets the mean named share."""
    if not shares:
        return {m: 1.0 for m in modalities}
    fallback = math.fsum(shares.values()) / len(shares)
    return {m: shares.get(m, fallback) for m in modalities}


def _clipped(level: float, weights: Mapping[str, float], needs: Mapping[str, ModalityNeed]) -> dict[str, float]:
    return {m: min(max(level * w, needs[m].lower_ms), needs[m].upper_ms) for m, w in weights.items()}


def modality_budgets(
    remaining_ms: float,
    needs: Mapping[str, ModalityNeed],
    shares: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Budget (ms) per modality in `needs`; the values sum to at most `remaining_ms`.

    Budgets are `clip(level * share, floor, cap)` with the one level at which they sum to the deadline
    (found by bisection: the sum only grows with the level), so modalities held at a floor or a cap leave
    the rest to be shared by the others.
    """
    if not math.isfinite(remaining_ms) or remaining_ms <= 0:
        raise InvalidInput(
            "no time left for inference",
            [Problem("deadline_ms", f"{remaining_ms:.1f} ms remain", "raise the deadline or send less work")],
        )
    weights = share_weights(list(needs), shares)
    total_weight = math.fsum(weights.values())
    floors = math.fsum(n.lower_ms for n in needs.values())
    caps = math.fsum(n.upper_ms for n in needs.values())
    if floors >= remaining_ms:
        if floors == 0:
            return {m: 0.0 for m in needs}
        return {m: needs[m].lower_ms * remaining_ms / floors for m in needs}
    if caps <= remaining_ms:
        spare = remaining_ms - caps
        return {m: needs[m].upper_ms + spare * weights[m] / total_weight for m in needs}
    low, high = 0.0, remaining_ms / min(weights.values())
    while math.fsum(_clipped(high, weights, needs).values()) < remaining_ms:
        high *= 2
    for _ in range(100):
        middle = (low + high) / 2
        if math.fsum(_clipped(middle, weights, needs).values()) > remaining_ms:
            high = middle
        else:
            low = middle
    budget = _clipped(low, weights, needs)
    total = math.fsum(budget.values())
    if total > remaining_ms:
        budget = {m: b * remaining_ms / total for m, b in budget.items()}
    return budget
