"""What one model does on one node type: latency, throughput, quality overall and per class, and cost."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

Fraction = float  # documented alias: a value in [0, 1]


class ModelProfile(BaseModel):
    """A measured (or derived) profile of `model` on `node_type`. Unknown quantities are None.

    Cost of one replica is `cost_base` (per replica and period) plus `cost_per_request` for every request
    it serves; the unit is whatever the catalog's source uses, consistently across profiles.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(min_length=1)
    node_type: str = Field(min_length=1)
    latency_p50_ms: float | None = Field(default=None, ge=0)
    latency_p95_ms: float | None = Field(default=None, ge=0)
    latency_p99_ms: float | None = Field(default=None, ge=0)
    throughput_rps: float | None = Field(default=None, gt=0, description="requests/s one replica sustains")
    accuracy: Fraction | None = Field(default=None, ge=0, le=1)
    confidence: Fraction | None = Field(default=None, ge=0, le=1)
    class_accuracy: dict[int, Fraction] = Field(default_factory=dict)
    class_confidence: dict[int, Fraction] = Field(default_factory=dict)
    cost_base: float | None = Field(default=None, ge=0)
    cost_per_request: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> ModelProfile:
        for field in ("class_accuracy", "class_confidence"):
            for cls, value in getattr(self, field).items():
                if not 0 <= value <= 1:
                    raise ValueError(f"{field}[{cls}] must be within [0, 1], got {value}")
        known = [v for v in (self.latency_p50_ms, self.latency_p95_ms, self.latency_p99_ms) if v is not None]
        if known != sorted(known):
            raise ValueError("latency percentiles must not decrease from p50 to p95 to p99")
        return self
