"""Scalar scoring of one candidate, written to be read: the reference every faster search must match.

A miss rate of class A (as B, ...) is ROHE's: the share of class-A samples answered wrong (as B, ...); see
core.contracts.miss_rate and `member_value` for what a profile can tell of it. Semantics follow ROHE's
published objective: aggregate member values with the metric's operator, clip to
[min, max] (log scale: values <= 0 count as min), map to [0, 1] linearly or logarithmically, flip for
minimised metrics, multiply by the weight and add up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rohe.core.contracts import Aggregation, ConsumerContract, MetricKind, Objective
from rohe.core.contracts.model import Constraint, Direction, _MetricRef
from rohe.core.profiles import ModelProfile
from rohe.serving.selection.base import Member, MetricOutcome

NAN = float("nan")


def aggregate(values: Sequence[float], how: Aggregation) -> float:
    """Left to right, one operation at a time (no compensated sums), so array code can match it exactly."""
    if how is Aggregation.MAX:
        return max(values)
    if how is Aggregation.MIN:
        return min(values)
    if how is Aggregation.COMPLEMENT_PRODUCT:
        return 1.0 - aggregate([1.0 - v for v in values], Aggregation.PRODUCT)
    total = values[0]
    for v in values[1:]:
        total = total * v if how is Aggregation.PRODUCT else total + v
    return total / len(values) if how is Aggregation.MEAN else total


def scale(value: float, objective: Objective) -> float:
    """Oriented position of `value` in [0, 1]: 1 is the best end of the objective's range."""
    low, high = objective.min, objective.max
    if objective.scale.kind == "log":
        clipped = low if value <= low else min(value, high)
        base = objective.scale.base
        position = (math.log(clipped, base) - math.log(low, base)) / (math.log(high, base) - math.log(low, base))
    else:
        clipped = min(max(value, low), high)
        position = (clipped - low) / (high - low)
    return 1.0 - position if objective.direction is Direction.MINIMIZE else position


def replicas_for(profile: ModelProfile, required_throughput: float) -> int | None:
    if profile.throughput_rps is None:
        return None
    return math.ceil(required_throughput / profile.throughput_rps)


def member_value(profile: ModelProfile, ref: _MetricRef, replicas: int, required_throughput: float) -> float:
    """The metric for one member; NaN when the profile does not know it."""
    if ref.metric is MetricKind.MISS_RATE:
        # Profiles keep accuracy per true class, not which wrong class was answered: the share of class-A
        # samples answered as B is bounded by A's miss rate, and that bound is what selection uses.
        true_class = ref.classes[0]
        return NAN if true_class not in profile.class_accuracy else 1.0 - profile.class_accuracy[true_class]
    if ref.metric in (MetricKind.ACCURACY, MetricKind.CONFIDENCE) and ref.classes:
        table = profile.class_confidence if ref.metric is MetricKind.CONFIDENCE else profile.class_accuracy
        if any(c not in table for c in ref.classes):
            return NAN
        return aggregate([table[c] for c in ref.classes], Aggregation.MEAN)
    if ref.metric is MetricKind.ACCURACY:
        return NAN if profile.accuracy is None else profile.accuracy
    if ref.metric is MetricKind.CONFIDENCE:
        return NAN if profile.confidence is None else profile.confidence
    if ref.metric is MetricKind.RESPONSE_TIME_P99:
        return NAN if profile.latency_p99_ms is None else profile.latency_p99_ms
    if ref.metric is MetricKind.THROUGHPUT:
        return NAN if profile.throughput_rps is None else profile.throughput_rps * replicas
    if profile.cost_base is None:
        return NAN
    return replicas * profile.cost_base + (profile.cost_per_request or 0.0) * required_throughput


def within(value: float, constraint: Constraint) -> bool:
    if math.isnan(value):
        return False
    if constraint.min is not None and value < constraint.min:
        return False
    return not (constraint.max is not None and value > constraint.max)


def evaluate(
    contract: ConsumerContract, profiles: Sequence[ModelProfile]
) -> tuple[float, dict[str, MetricOutcome], tuple[Member, ...], float] | None:
    """Score one candidate; None if a member lacks a needed value or a constraint fails."""
    required = contract.required_throughput
    counts = [replicas_for(p, required) for p in profiles]
    if any(c is None for c in counts):
        return None
    replicas = [c for c in counts if c is not None]
    outcomes: dict[str, MetricOutcome] = {}
    score = 0.0
    for objective in contract.objectives:
        values = [member_value(p, objective, r, required) for p, r in zip(profiles, replicas, strict=True)]
        if any(math.isnan(v) for v in values):
            return None
        aggregated = aggregate(values, objective.aggregation)
        scaled = scale(aggregated, objective)
        outcomes[objective.name] = MetricOutcome(aggregated, scaled, objective.weight * scaled)
        score += objective.weight * scaled
    for constraint in contract.all_constraints():
        values = [member_value(p, constraint, r, required) for p, r in zip(profiles, replicas, strict=True)]
        if any(math.isnan(v) for v in values) or not within(aggregate(values, constraint.aggregation), constraint):
            return None
    members = tuple(Member(p.model, p.node_type, r) for p, r in zip(profiles, replicas, strict=True))
    cost_ref = Constraint(metric=MetricKind.COST, max=math.inf)
    costs = [member_value(p, cost_ref, r, required) for p, r in zip(profiles, replicas, strict=True)]
    return score, outcomes, members, aggregate(costs, Aggregation.SUM)
