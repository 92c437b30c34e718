"""A workload profile: what load to offer a serving gateway, phase by phase (YAML or Python).

```yaml
name: steady-then-burst
seed: 7
feedback: true                # post the true label to /feedback after every answered request
phases:
  - name: steady
    duration_s: 20
    rate: 10                  # requests/s; `rate_per: consumer` gives each consumer this rate
    rate_per: total           # `total`: the rate is split over the consumers by their mix weight
    arrival: poisson          # or constant
    max_concurrency: 32       # in-flight cap; a request over it is recorded as dropped, never delayed
    mix: {accuracy-first: 1, fast-and-cheap: 1}
    algorithms: [adaptive, single-best]   # interleaved per consumer; omit for the gateway's default
  - name: burst
    duration_s: 5
    rate: 40
```
A phase that leaves out `mix`, `algorithms`, `arrival`, `rate_per` or `max_concurrency` inherits them
from the phase before it, so a burst only has to say what changes.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from rohe.core.errors import InvalidInput, Problem
from rohe.core.loading import load_document, problems_from_validation


class Arrival(StrEnum):
    CONSTANT = "constant"
    POISSON = "poisson"


class RateBasis(StrEnum):
    TOTAL = "total"
    CONSUMER = "consumer"


class PhaseSpec(BaseModel):
    """One phase as written; unset fields are inherited when the profile is resolved."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    duration_s: float = Field(gt=0)
    rate: float = Field(gt=0, description="requests per second")
    rate_per: RateBasis | None = None
    arrival: Arrival | None = None
    max_concurrency: int | None = Field(default=None, ge=1)
    mix: dict[str, float] | None = None
    algorithms: list[str | None] | None = None

    @field_validator("mix")
    @classmethod
    def _mix_weights(cls, mix: dict[str, float] | None) -> dict[str, float] | None:
        if mix is None:
            return None
        if not mix:
            raise ValueError("name at least one consumer")
        bad = [name for name, weight in mix.items() if not weight > 0 or not name]
        if bad:
            raise ValueError(f"every consumer needs a name and a weight above 0; check {bad}")
        return mix

    @field_validator("algorithms")
    @classmethod
    def _algorithms(cls, algorithms: list[str | None] | None) -> list[str | None] | None:
        if algorithms is not None and not algorithms:
            raise ValueError("list at least one algorithm, or leave the field out for the gateway's default")
        return algorithms


class Phase(BaseModel):
    """A resolved phase: every field known."""

    model_config = ConfigDict(frozen=True)

    name: str
    duration_s: float
    rate: float
    rate_per: RateBasis
    arrival: Arrival
    max_concurrency: int
    mix: dict[str, float]
    algorithms: tuple[str | None, ...]

    def consumer_rates(self) -> dict[str, float]:
        """Requests per second each consumer is offered in this phase."""
        if self.rate_per is RateBasis.CONSUMER:
            return {consumer: self.rate for consumer in self.mix}
        total = sum(self.mix.values())
        return {consumer: self.rate * weight / total for consumer, weight in self.mix.items()}


class WorkloadProfile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = "workload"
    seed: int = 7
    feedback: bool = False
    deadline_ms: float | None = Field(default=None, gt=0, description="override the contracts' deadlines")
    timeout_s: float = Field(default=10.0, gt=0, description="client-side cap on one HTTP call")
    phases: list[PhaseSpec] = Field(min_length=1)

    def resolved(self) -> list[Phase]:
        """Phases with inherited fields filled in; the first phase must name its consumers."""
        phases: list[Phase] = []
        previous: Phase | None = None
        for index, spec in enumerate(self.phases):
            mix = spec.mix if spec.mix is not None else (previous.mix if previous else None)
            if mix is None:
                raise InvalidInput(
                    "invalid workload profile",
                    [Problem(f"phases[{index}].mix", "no consumers named", "give the first phase a mix")],
                )
            algorithms = spec.algorithms or (list(previous.algorithms) if previous else [None])
            phase = Phase(
                name=spec.name,
                duration_s=spec.duration_s,
                rate=spec.rate,
                rate_per=spec.rate_per or (previous.rate_per if previous else RateBasis.TOTAL),
                arrival=spec.arrival or (previous.arrival if previous else Arrival.POISSON),
                max_concurrency=spec.max_concurrency or (previous.max_concurrency if previous else 64),
                mix=dict(mix),
                algorithms=tuple(algorithms),
            )
            phases.append(phase)
            previous = phase
        names = [p.name for p in phases]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise InvalidInput(
                "invalid workload profile",
                [Problem("phases[].name", f"{duplicates} named twice", "give every phase its own name")],
            )
        return phases

    @property
    def duration_s(self) -> float:
        return sum(p.duration_s for p in self.phases)

    def scaled(self, factor: float) -> WorkloadProfile:
        """The same profile with every phase `factor` times as long (rates unchanged)."""
        if not factor > 0:
            raise InvalidInput("invalid duration scale", [Problem("duration", f"is {factor}", "use a number > 0")])
        phases = [p.model_copy(update={"duration_s": p.duration_s * factor}) for p in self.phases]
        return self.model_copy(update={"phases": phases})


def parse_workload_profile(data: Any, source: str = "<workload>") -> WorkloadProfile:
    try:
        profile = WorkloadProfile.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(f"invalid workload profile {source}", problems_from_validation(exc)) from None
    profile.resolved()  # inheritance errors surface at load time, not mid-run
    return profile


def load_workload_profile(path: Path) -> WorkloadProfile:
    return parse_workload_profile(load_document(path), str(path))
