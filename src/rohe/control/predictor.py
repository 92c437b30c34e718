""""What if I do this?": a remedy's expected p99, accuracy and cost before the controller applies it.

`RemedyPredictor` is the interface; `QueueingPredictor` the default: every member service is an M/M/c queue
(rohe.orchestration.queueing) with its profiled throughput and p99 on its node type and the load observed in the
newest window. The ensemble's p99 is its slowest member's; its accuracy is estimated as the best member's
profiled accuracy (voting members rarely do worse than their best); its cost is the replicas' price per period
(`cost_base` x replicas, summed over members), the unit contracts' cost clauses use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from rohe.control.records import Prediction, Remedy
from rohe.control.situation import Situation
from rohe.orchestration.queueing import response_p99_ms

FASTEST = "fastest"


@runtime_checkable
class RemedyPredictor(Protocol):
    name: str

    def predict(self, remedy: Remedy | None, situation: Situation) -> Prediction:
        """The expected state after `remedy` (None: if nothing is done)."""
        ...


@dataclass(frozen=True)
class _Member:
    model: str
    replicas: int
    node_type: str | None


def members_after(remedy: Remedy | None, s: Situation) -> list[_Member]:
    """The ensemble's members, replica counts and node types once `remedy` is applied."""
    excluded = set(s.excluded)
    degraded = s.degraded
    counts = {m: v.replicas for m, v in s.services.items()}
    types = {m: v.node_type for m, v in s.services.items()}
    if remedy is not None:
        model = str(remedy.params.get("model", ""))
        if remedy.kind in ("scale-out", "scale-in"):
            counts.update({m: int(n) for m, n in remedy.params["scale"].items()})
        elif remedy.kind == "move":
            types[model] = str(remedy.params["node_type"])
        elif remedy.kind == "reselect":
            excluded |= set(remedy.params.get("exclude", ()))
        elif remedy.kind == "degrade":
            degraded = True
        elif remedy.kind == "restore":
            degraded, excluded = False, set()
    allowed = [m for m in (s.contract.models or s.catalog.models) if m in s.services and m not in excluded]
    if degraded and allowed:
        allowed = [min(allowed, key=lambda m: _p99(s, m, types.get(m)))]
    return [_Member(m, counts[m], types.get(m)) for m in allowed]


def _p99(s: Situation, model: str, node_type: str | None) -> float:
    profile = s.profile(model, node_type)
    if profile is None:
        return math.inf
    value = profile.latency_p99_ms or profile.latency_p95_ms or profile.latency_p50_ms
    return value if value is not None else math.inf


class QueueingPredictor:
    name = "m/m/c"

    def predict(self, remedy: Remedy | None, situation: Situation) -> Prediction:
        members = members_after(remedy, situation)
        if not members:
            return Prediction(p99_ms=None, accuracy=None, cost=0.0, restores=False, method=self.name)
        p99 = 0.0
        accuracy: float | None = None
        cost = 0.0
        for member in members:
            profile = situation.profile(member.model, member.node_type)
            if profile is None or profile.throughput_rps is None:
                continue
            service_p99 = _p99(situation, member.model, member.node_type)
            estimate = response_p99_ms(member.replicas, situation.load(member.model), profile.throughput_rps,
                                       service_p99)
            p99 = max(p99, estimate)
            if profile.accuracy is not None:
                accuracy = max(accuracy or 0.0, profile.accuracy)
            cost += member.replicas * (profile.cost_base or 0.0)
        deadline = situation.contract.deadline_ms
        floor = situation.accuracy_floor()
        restores = (deadline is None or p99 <= deadline) and (floor is None or (accuracy or 0.0) >= floor)
        return Prediction(p99_ms=None if math.isinf(p99) else p99, accuracy=accuracy, cost=cost,
                          restores=restores, method=self.name)
