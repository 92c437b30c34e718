"""A broken contract clause in one window, with the evidence for why it broke."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Action(StrEnum):
    ALERT = "alert"
    DEGRADE = "degrade"
    REROUTE = "reroute"


class CauseKind(StrEnum):
    STAGE = "stage"
    SERVICE = "service"
    MODEL = "model"
    NODE = "node"
    WORKLOAD = "workload"
    DATA = "data"


class Cause(BaseModel):
    """One suspected cause; `share` is its part of the violation in [0, 1] (causes are ranked by it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: CauseKind
    name: str
    share: float = Field(ge=0, le=1)
    evidence: str


class Violation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    violation_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    app: str
    run: str
    consumer: str
    clause: str = Field(description="the contract clause, e.g. 'performance_slo.response_time_p99_ms <= 500'")
    metric: str
    operator: str
    threshold: float
    observed: float | None = Field(description="None when the metric had no data (missing data is a violation)")
    window_start: datetime
    window_end: datetime
    action: Action = Action.ALERT
    detected_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    causes: list[Cause] = Field(default_factory=list)
    explanation: str = ""
