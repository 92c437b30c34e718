"""The typed consumer contract: what a consumer wants from an ensemble and how much each wish counts."""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rohe.core.contracts.slo import ApplicationSLO


class MetricKind(StrEnum):
    """A per-member quantity the selection can aggregate over an ensemble."""

    ACCURACY = "accuracy"
    MISS_RATE = "miss_rate"
    CONFIDENCE = "confidence"
    RESPONSE_TIME_P99 = "response_time_p99"
    THROUGHPUT = "throughput"
    COST = "cost"


class Aggregation(StrEnum):
    """How member values combine into one ensemble value."""

    MEAN = "mean"
    MAX = "max"
    MIN = "min"
    PRODUCT = "product"
    COMPLEMENT_PRODUCT = "complement_product"  # 1 - prod(1 - x): "at least one member is right"
    SUM = "sum"


class Direction(StrEnum):
    MAXIMIZE = "maximize"
    MINIMIZE = "minimize"


# ROHE and common shorthand; normalised before validation so error messages show the canonical names.
_AGGREGATION_ALIASES = {
    "avg": "mean",
    "average": "mean",
    "prod": "product",
    "rprod": "complement_product",
    "1-prod(1-x)": "complement_product",
}
_DIRECTION_ALIASES = {"max": "maximize", "min": "minimize"}

DEFAULT_AGGREGATION: dict[MetricKind, Aggregation] = {
    MetricKind.ACCURACY: Aggregation.COMPLEMENT_PRODUCT,
    MetricKind.MISS_RATE: Aggregation.PRODUCT,
    MetricKind.CONFIDENCE: Aggregation.MEAN,
    MetricKind.RESPONSE_TIME_P99: Aggregation.MAX,
    MetricKind.THROUGHPUT: Aggregation.MIN,
    MetricKind.COST: Aggregation.SUM,
}
_CLASS_METRICS = {MetricKind.ACCURACY, MetricKind.MISS_RATE, MetricKind.CONFIDENCE}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Scale(_Strict):
    """Maps an aggregated value onto [0, 1] between the objective's min and max."""

    kind: Literal["linear", "log"] = "linear"
    base: float = 2.0

    @field_validator("base")
    @classmethod
    def _usable_base(cls, value: float) -> float:
        if not value > 0 or value == 1 or not math.isfinite(value):
            raise ValueError("log base must be a positive number other than 1")
        return value


class _MetricRef(_Strict):
    """`classes`: for accuracy and confidence, the classes averaged; for miss_rate, the true class then the
    wrong answers counted (`(1, 6)`: class-1 samples answered as 6, see core.contracts.miss_rate)."""

    metric: MetricKind
    classes: tuple[int, ...] = ()
    aggregate: Aggregation | None = None

    @field_validator("aggregate", mode="before")
    @classmethod
    def _aggregate_alias(cls, value: Any) -> Any:
        if isinstance(value, str):
            return _AGGREGATION_ALIASES.get(value.strip().lower(), value.strip().lower())
        return value

    @model_validator(mode="after")
    def _classes_fit_metric(self) -> _MetricRef:
        if self.classes and self.metric not in _CLASS_METRICS:
            raise ValueError(f"'classes' only applies to accuracy, miss_rate and confidence, not {self.metric}")
        if self.metric is MetricKind.MISS_RATE and not self.classes:
            raise ValueError("miss_rate needs 'classes' (the class ids whose misses count)")
        if len(set(self.classes)) != len(self.classes):
            raise ValueError("'classes' lists a class id twice")
        return self

    @property
    def aggregation(self) -> Aggregation:
        return self.aggregate if self.aggregate is not None else DEFAULT_AGGREGATION[self.metric]


class Objective(_MetricRef):
    """One weighted term of the score: aggregate, clip to [min, max], scale to [0, 1], orient, weigh."""

    name: str = ""
    direction: Direction
    min: float
    max: float
    scale: Scale = Scale()
    weight: float = Field(default=1.0, ge=0)

    @field_validator("direction", mode="before")
    @classmethod
    def _direction_alias(cls, value: Any) -> Any:
        if isinstance(value, str):
            return _DIRECTION_ALIASES.get(value.strip().lower(), value.strip().lower())
        return value

    @model_validator(mode="after")
    def _usable_range(self) -> Objective:
        if not (math.isfinite(self.min) and math.isfinite(self.max)):
            raise ValueError("min and max must be finite numbers")
        if self.min >= self.max:
            raise ValueError(f"min ({self.min}) must be below max ({self.max})")
        if self.scale.kind == "log" and self.min <= 0:
            raise ValueError(f"a log scale needs min > 0, got {self.min}")
        if not self.name:
            object.__setattr__(self, "name", default_name(self.metric, self.classes))
        return self


class Constraint(_MetricRef):
    """A hard bound on an aggregated value; ensembles outside it are never chosen."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _has_bound(self) -> Constraint:
        if self.min is None and self.max is None:
            raise ValueError("a constraint needs 'min', 'max' or both")
        if self.min is not None and self.max is not None and self.min >= self.max:
            raise ValueError(f"min ({self.min}) must be below max ({self.max})")
        return self


class EnsembleSize(_Strict):
    min: int = Field(default=1, ge=1)
    max: int

    @model_validator(mode="after")
    def _non_empty(self) -> EnsembleSize:
        if self.max < 1:
            raise ValueError(f"ensemble max must be at least 1, got {self.max}")
        if self.min > self.max:
            raise ValueError(f"ensemble min ({self.min}) is above max ({self.max}): the range is empty")
        return self


class ConsumerContract(_Strict):
    """What one consumer asks of the serving layer, independent of where its profiles come from."""

    consumer: str = Field(min_length=1)
    ensemble: EnsembleSize
    required_throughput: float = Field(gt=0, description="requests per second the ensemble must sustain")
    deadline_ms: float | None = Field(default=None, description="per-request deadline; also caps member p99")
    objectives: tuple[Objective, ...] = Field(min_length=1)
    constraints: tuple[Constraint, ...] = ()
    models: tuple[str, ...] | None = Field(default=None, description="only these models may be members")
    node_types: tuple[str, ...] | None = Field(default=None, description="only these node types may host")
    slo: ApplicationSLO | None = None
    modality_budgets: dict[str, float] | None = Field(
        default=None,
        description="share of the deadline each input modality of a multi-modal pipeline gets; default equal",
    )

    @field_validator("modality_budgets")
    @classmethod
    def _positive_shares(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is None:
            return value
        if not value:
            raise ValueError("modality_budgets is empty: leave it out for equal shares, or give a share per modality")
        bad = sorted(name for name, share in value.items() if not (math.isfinite(share) and share > 0))
        if bad:
            raise ValueError(f"modality shares must be positive numbers; check {', '.join(bad)}")
        return value

    @field_validator("deadline_ms")
    @classmethod
    def _possible_deadline(cls, value: float | None) -> float | None:
        if value is not None and not value > 0:
            raise ValueError(f"deadline must be a positive number of milliseconds, got {value}")
        return value

    @model_validator(mode="after")
    def _unique_names(self) -> ConsumerContract:
        names = [o.name for o in self.objectives]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"objective names must be unique; repeated: {', '.join(duplicates)}")
        return self

    def all_constraints(self) -> tuple[Constraint, ...]:
        """Explicit constraints plus the one the deadline implies (every member's p99 within it)."""
        if self.deadline_ms is None:
            return self.constraints
        implied = Constraint(metric=MetricKind.RESPONSE_TIME_P99, aggregate=Aggregation.MAX, max=self.deadline_ms)
        return (*self.constraints, implied)


def default_name(metric: MetricKind, classes: tuple[int, ...]) -> str:
    if not classes:
        return metric.value
    return f"{metric.value}[{','.join(str(c) for c in classes)}]"
