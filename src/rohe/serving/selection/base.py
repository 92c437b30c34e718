"""The selection interface: an EnsembleSearch turns a contract and a catalog into an EnsembleChoice."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from rohe.core.contracts import ConsumerContract
from rohe.core.profiles import ProfileCatalog

# Scores closer than this are a tie; ties go to the candidate enumerated first (see docs/serving-selection.md).
TIE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Member:
    model: str
    node_type: str
    replicas: int


@dataclass(frozen=True)
class MetricOutcome:
    """One objective for the chosen ensemble: aggregated value, its oriented [0, 1] scale, and weight x scale."""

    aggregated: float
    scaled: float
    weighted: float


@dataclass(frozen=True)
class EnsembleChoice:
    algorithm: str
    members: tuple[Member, ...]
    metrics: dict[str, MetricOutcome]
    score: float
    cost: float
    candidates: int = field(default=0, compare=False)

    @property
    def key(self) -> tuple[tuple[str, str], ...]:
        """Members as (model, node type) pairs, in enumeration order, for comparing choices."""
        return tuple((m.model, m.node_type) for m in self.members)


@runtime_checkable
class EnsembleSearch(Protocol):
    name: str

    def search(self, contract: ConsumerContract, catalog: ProfileCatalog) -> EnsembleChoice: ...
