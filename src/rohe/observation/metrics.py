"""What an observation agent computes per window and stores: the one shape every later stage reads.

Agents produce `WindowMetrics`; storage keeps them; contract evaluation, rules, anomaly detection,
`/metrics` and reports read them. Keys of the per-stage, per-model and per-resource maps are plain names
(`fanout`, `aggregation`, `end_to_end`; model ids; `service@node`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

ALL_CONSUMERS = "*"


class WindowKind(StrEnum):
    TUMBLING = "tumbling"
    SLIDING = "sliding"


class LatencyStats(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    count: int = Field(ge=0)
    mean_ms: float = Field(ge=0)
    p50_ms: float = Field(ge=0)
    p95_ms: float = Field(ge=0)
    p99_ms: float = Field(ge=0)
    max_ms: float = Field(ge=0)


class ModelStats(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    requests: int = Field(ge=0, description="requests this model answered in the window")
    late: int = Field(default=0, ge=0, description="requests where it was late or failed")
    latency: LatencyStats | None = None
    labelled: int = Field(default=0, ge=0)
    accuracy: float | None = Field(default=None, ge=0, le=1, description="own top class against ground truth")


class ResourceStats(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    samples: int = Field(ge=0)
    cpu_mean: float = Field(ge=0, description="cores")
    cpu_max: float = Field(ge=0)
    memory_mean: float = Field(ge=0, description="MiB")
    memory_max: float = Field(ge=0)
    gpu_mean: float = Field(default=0.0, ge=0)


class WindowMetrics(BaseModel):
    """Metrics of one app run over [start, end) for one consumer, or for all of them (`ALL_CONSUMERS`).

    Accuracy counts only requests whose ground truth arrived; it is never inferred from confidence.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    app: str
    run: str
    consumer: str = ALL_CONSUMERS
    kind: WindowKind = WindowKind.TUMBLING
    start: datetime
    end: datetime
    requests: int = Field(ge=0)
    errors: int = Field(default=0, ge=0, description="requests no model answered")
    partial: int = Field(default=0, ge=0, description="answered with some members late or failed")
    throughput_rps: float = Field(ge=0)
    end_to_end: LatencyStats | None = None
    stages: dict[str, LatencyStats] = Field(default_factory=dict)
    labelled: int = Field(default=0, ge=0)
    accuracy: float | None = Field(default=None, ge=0, le=1)
    confidence_mean: float | None = Field(default=None, ge=0, le=1)
    class_accuracy: dict[str, float] = Field(default_factory=dict)
    class_miss_rate: dict[str, float] = Field(default_factory=dict, description="1 - recall per true class")
    ensemble_size_mean: float | None = Field(default=None, ge=0)
    cost_total: float = Field(default=0.0, ge=0)
    models: dict[str, ModelStats] = Field(default_factory=dict)
    resources: dict[str, ResourceStats] = Field(default_factory=dict)
    custom: dict[str, float] = Field(default_factory=dict, description="user window functions and derived metrics")

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    @property
    def availability(self) -> float | None:
        """Share of requests that got an answer; None when the window saw no request."""
        return None if self.requests == 0 else 1.0 - self.errors / self.requests
