"""What the controller sees of one consumer in one pass: its contract, the newest windows, the violations of the
newest window, and every model service with its replicas, node types and observed load."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from rohe.core.contracts import Aggregation, ConsumerContract, MetricKind
from rohe.core.domain import Service
from rohe.core.profiles import ModelProfile, ProfileCatalog
from rohe.observation.metrics import WindowMetrics
from rohe.observation.violations import Violation


@dataclass(frozen=True)
class ServiceView:
    """One model service as placed now: replica indexes with their node and that node's type."""

    name: str
    model: str
    replicas: int
    placed: tuple[tuple[int, str, str], ...]  # (index, node, node type)
    spec: Service

    @property
    def node_type(self) -> str | None:
        """The most common node type of its placed replicas (the one a replica count is sized on)."""
        counts = Counter(t for _, _, t in self.placed)
        return counts.most_common(1)[0][0] if counts else None


@dataclass
class Situation:
    app: str
    run: str
    contract: ConsumerContract
    catalog: ProfileCatalog
    windows: list[WindowMetrics]  # oldest first, newest last
    violations: list[Violation]  # of the newest window
    services: dict[str, ServiceView]  # by model
    node_types: tuple[str, ...]  # types of the registered, schedulable nodes
    degraded: bool = False
    excluded: tuple[str, ...] = ()
    budget: float | None = None
    violated_streak: int = 0  # newest windows in a row with a violation
    healthy_streak: int = 0  # newest windows in a row without one

    @property
    def consumer(self) -> str:
        return self.contract.consumer

    @property
    def window(self) -> WindowMetrics:
        return self.windows[-1]

    def load(self, model: str) -> float:
        """Requests/s the model's service received in the newest window (all its requests, not only this
        consumer's: a replica serves every consumer)."""
        stats = self.window.models.get(model)
        seconds = self.window.seconds or 1.0
        if stats is not None:
            return stats.requests / seconds
        # A window that reports members but not this one: it served nothing for this consumer.
        return 0.0 if self.window.models or model not in self.members() else self.window.throughput_rps

    def members(self) -> tuple[str, ...]:
        """Models the consumer may use now: allowed by its contract, deployed, not excluded."""
        allowed = self.contract.models or self.catalog.models
        return tuple(m for m in allowed if m in self.services and m not in self.excluded)

    def profile(self, model: str, node_type: str | None) -> ModelProfile | None:
        if node_type is not None:
            found = self.catalog.profile(model, node_type)
            if found is not None:
                return found
        return next((p for p in self.catalog.profiles if p.model == model), None)

    def accuracy_floor(self) -> float | None:
        floors = [c.min for c in self.contract.constraints
                  if c.metric is MetricKind.ACCURACY and c.min is not None and not c.classes]
        return max(floors) if floors else None

    def cost_ceiling(self) -> float | None:
        ceilings = [c.max for c in self.contract.constraints
                    if c.metric is MetricKind.COST and c.max is not None and c.aggregation is Aggregation.SUM]
        return min(ceilings) if ceilings else self.budget

