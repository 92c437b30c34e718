"""Service-level clauses of ROHE application contracts, kept typed for the Observation Service to evaluate.

Only loading and validation live here: deciding whether a window of observations violates a clause is the
Observation Service's job.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

_WINDOW = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_WINDOW_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


class Comparison(StrEnum):
    GE = ">="
    GT = ">"
    LE = "<="
    LT = "<"
    EQ = "=="


class ViolationAction(StrEnum):
    ALERT = "alert"
    DEGRADE = "degrade"
    REROUTE = "reroute"


def window_seconds(text: str) -> float:
    """'5m' -> 300.0; raises ValueError naming the accepted units."""
    match = _WINDOW.match(text)
    if not match:
        raise ValueError(f"window {text!r} is not a duration like '30s', '5m' or '1h'")
    value = float(match.group(1)) * _WINDOW_SECONDS[match.group(2)]
    if value <= 0:
        raise ValueError(f"window {text!r} must be longer than zero")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SLOClause(_Strict):
    """`<metric> <operator> <value>` over a sliding window, and what to do when it does not hold."""

    operator: Comparison
    value: float
    window: str
    action_on_violation: ViolationAction

    @field_validator("window")
    @classmethod
    def _valid_window(cls, value: str) -> str:
        window_seconds(value)
        return value

    @property
    def window_s(self) -> float:
        return window_seconds(self.window)


class PerformanceSLO(_Strict):
    response_time_p99_ms: float = Field(gt=0)
    throughput_rps: float = Field(gt=0)
    availability_percent: float = Field(gt=0, le=100)


class QualitySLO(_Strict):
    builtin_metrics: dict[str, SLOClause] = Field(default_factory=dict)
    cdm_thresholds: dict[str, SLOClause] = Field(default_factory=dict)


class CDMExpression(_Strict):
    """A consumer-defined metric expression tree; its operand vocabulary is open, so leaves stay loose."""

    type: str = Field(min_length=1)
    operands: tuple[dict[str, Any], ...] = Field(min_length=1)


class CDMDefinition(_Strict):
    name: str = Field(min_length=1)
    metric_type: str
    description: str = ""
    expression: CDMExpression
    window: str

    @field_validator("window")
    @classmethod
    def _valid_window(cls, value: str) -> str:
        window_seconds(value)
        return value


class ApplicationSLO(_Strict):
    """The identity and SLO part of a ROHE application contract (`contract:` plus `cdm_definitions:`)."""

    contract_id: str = Field(min_length=1)
    tenant_id: str = Field(min_length=1)
    pipeline_id: str = Field(min_length=1)
    effective_from: str
    performance_slo: PerformanceSLO
    quality_slo: QualitySLO = QualitySLO()
    cdm_definitions: dict[str, CDMDefinition] = Field(default_factory=dict)
