"""Combining the predictions of an ensemble's members into one answer.

Members of one ensemble share a label space: index i of every probability vector is class i. Every sum
goes through `math.fsum`, which is correctly rounded, so the order members arrive in (the order replies
come back from the network) can never change a tie-break or a printed probability.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from rohe.core.errors import InvalidInput, NotFound, Problem, ProblemCollector
from rohe.core.profiles import ModelProfile


@dataclass(frozen=True)
class MemberPrediction:
    """What one member model said about one input."""

    model: str
    probabilities: tuple[float, ...]
    predicted_class: int
    confidence: float


@dataclass(frozen=True)
class AggregatedPrediction:
    """The ensemble's answer. `agreement` is the share of members whose own choice is `predicted_class`."""

    strategy: str
    predicted_class: int
    probabilities: tuple[float, ...]
    confidence: float
    agreement: float
    members: tuple[str, ...]


@runtime_checkable
class Aggregator(Protocol):
    name: str

    def aggregate(self, members: Sequence[MemberPrediction]) -> AggregatedPrediction: ...


def _checked(members: Sequence[MemberPrediction]) -> list[tuple[MemberPrediction, tuple[float, ...]]]:
    """Members with their probability vectors renormalised, after checking all share one label space."""
    if not members:
        raise InvalidInput(
            "nothing to aggregate", [Problem("members", "no member prediction was given", "pass at least one")]
        )
    width = len(members[0].probabilities)
    problems = ProblemCollector()
    result = []
    for index, member in enumerate(members):
        where = f"members[{index}] ({member.model})"
        vector = member.probabilities
        if len(vector) != width or width == 0:
            problems.add(
                f"{where}.probabilities",
                f"has {len(vector)} classes, the first member has {width}",
                "an ensemble's members must be trained on the same classes",
            )
            continue
        if any(not math.isfinite(p) or p < 0 for p in vector) or math.fsum(vector) <= 0:
            problems.add(f"{where}.probabilities", "must be finite, non-negative and not all zero", "")
            continue
        if not 0 <= member.predicted_class < width:
            problems.add(f"{where}.predicted_class", f"{member.predicted_class} is outside 0..{width - 1}", "")
            continue
        total = math.fsum(vector)
        result.append((member, tuple(p / total for p in vector)))
    problems.raise_if_any("member predictions cannot be aggregated")
    return result


def _weighted_mean(vectors: Sequence[tuple[float, ...]], weights: Sequence[float]) -> tuple[float, ...]:
    total_weight = math.fsum(weights)
    width = len(vectors[0])
    mean = [math.fsum(w * v[c] for w, v in zip(weights, vectors, strict=True)) / total_weight for c in range(width)]
    # Renormalise once more: dividing by the weight sum can leave the vector a rounding error away from 1.
    norm = math.fsum(mean)
    return tuple(p / norm for p in mean)


def _agreement(members: Sequence[MemberPrediction], chosen: int) -> float:
    return sum(1 for m in members if m.predicted_class == chosen) / len(members)


def _vote(checked: Sequence[tuple[MemberPrediction, tuple[float, ...]]], weights: Sequence[float]) -> int:
    """The class with the most (weighted) votes; ties go to the higher summed probability, then the lower id."""
    width = len(checked[0][1])
    score: dict[int, list[float]] = {}
    for (member, _), weight in zip(checked, weights, strict=True):
        score.setdefault(member.predicted_class, []).append(weight)
    summed = [math.fsum(v[c] for _, v in checked) for c in range(width)]
    return min(score, key=lambda c: (-math.fsum(score[c]), -summed[c], c))


def _result(
    strategy: str,
    checked: Sequence[tuple[MemberPrediction, tuple[float, ...]]],
    chosen: int,
    probabilities: tuple[float, ...],
) -> AggregatedPrediction:
    members = [m for m, _ in checked]
    return AggregatedPrediction(
        strategy=strategy,
        predicted_class=chosen,
        probabilities=probabilities,
        confidence=probabilities[chosen],
        agreement=_agreement(members, chosen),
        members=tuple(sorted(m.model for m in members)),
    )


class MajorityVote:
    """One member, one vote. The probability vector reported is the plain mean of the members' vectors,
    so its argmax can differ from the voted class when a confident minority outweighs the majority."""

    name = "majority"

    def aggregate(self, members: Sequence[MemberPrediction]) -> AggregatedPrediction:
        checked = _checked(members)
        ones = [1.0] * len(checked)
        chosen = _vote(checked, ones)
        return _result(self.name, checked, chosen, _weighted_mean([v for _, v in checked], ones))


class WeightedVote:
    """Votes weighted per model (for example by its profiled accuracy); without weights, each vote
    counts as much as the member's own confidence. The vector is the mean weighted the same way."""

    name = "weighted"

    def __init__(self, weights: Mapping[str, float] | None = None) -> None:
        problems = ProblemCollector()
        for model, weight in (weights or {}).items():
            if not math.isfinite(weight) or weight < 0:
                problems.add(f"weights.{model}", f"{weight} is not a finite non-negative number", "")
        problems.raise_if_any("invalid aggregation weights")
        self.weights = dict(weights) if weights is not None else None

    def _weight_of(self, member: MemberPrediction) -> float:
        if self.weights is None:
            return member.confidence
        if member.model not in self.weights:
            raise InvalidInput(
                "no weight for an ensemble member",
                [Problem(f"weights.{member.model}", "is missing", "give every member model a weight")],
            )
        return self.weights[member.model]

    def aggregate(self, members: Sequence[MemberPrediction]) -> AggregatedPrediction:
        checked = _checked(members)
        weights = [self._weight_of(m) for m, _ in checked]
        if math.fsum(weights) <= 0:
            raise InvalidInput(
                "all member weights are zero",
                [Problem("weights", "sum to zero over the answering members", "give some member a positive weight")],
            )
        chosen = _vote(checked, weights)
        return _result(self.name, checked, chosen, _weighted_mean([v for _, v in checked], weights))


class MeanProbability:
    """Soft voting: the argmax (lowest id on a tie) of the mean probability vector."""

    name = "mean"

    def aggregate(self, members: Sequence[MemberPrediction]) -> AggregatedPrediction:
        checked = _checked(members)
        mean = _weighted_mean([v for _, v in checked], [1.0] * len(checked))
        chosen = min(range(len(mean)), key=lambda c: (-mean[c], c))
        return _result(self.name, checked, chosen, mean)


class MaxConfidence:
    """Trust the single most confident member; ties go to the lower class id, then the model name."""

    name = "max-confidence"

    def aggregate(self, members: Sequence[MemberPrediction]) -> AggregatedPrediction:
        checked = _checked(members)
        member, vector = min(checked, key=lambda mv: (-mv[0].confidence, mv[0].predicted_class, mv[0].model))
        return _result(self.name, checked, member.predicted_class, vector)


_BUILTINS: dict[str, Callable[[Mapping[str, float] | None], Aggregator]] = {
    MajorityVote.name: lambda _: MajorityVote(),
    WeightedVote.name: WeightedVote,
    MeanProbability.name: lambda _: MeanProbability(),
    MaxConfidence.name: lambda _: MaxConfidence(),
}


def aggregator_names() -> list[str]:
    return sorted(_BUILTINS)


def make_aggregator(name: str, weights: Mapping[str, float] | None = None) -> Aggregator:
    """An aggregator by name; `weights` (model -> weight) is only used by `weighted`."""
    factory = _BUILTINS.get(name)
    if factory is None:
        raise NotFound(
            "unknown aggregation strategy",
            [Problem("aggregation", f"no strategy named {name!r}", f"use one of {', '.join(aggregator_names())}")],
        )
    return factory(weights)


def accuracy_weights(profiles: Iterable[ModelProfile], node_type: str | None = None) -> dict[str, float]:
    """Vote weights for `weighted` from profiled accuracy: on `node_type` if given, else the mean over the
    node types a model was profiled on (accuracy barely depends on hardware, so averaging loses little)."""
    measured: dict[str, list[float]] = {}
    unmeasured: set[str] = set()
    for profile in profiles:
        if node_type is not None and profile.node_type != node_type:
            continue
        if profile.accuracy is None:
            unmeasured.add(profile.model)
        else:
            measured.setdefault(profile.model, []).append(profile.accuracy)
    missing = sorted(unmeasured - set(measured))
    if missing:
        raise InvalidInput(
            "profiles lack accuracy",
            [
                Problem(f"profiles.{m}.accuracy", "is unknown", "profile the model against labelled data")
                for m in missing
            ],
        )
    return {model: math.fsum(values) / len(values) for model, values in sorted(measured.items())}
