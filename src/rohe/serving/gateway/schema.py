"""Wire format of the serving gateway (docs/serving-gateway.md): what /infer, /feedback and /policy take
and what they answer."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    # A misspelt field is an error naming it, not a silently ignored option.
    model_config = ConfigDict(extra="forbid")


class InferRequest(_Body):
    consumer: str = Field(min_length=1)
    algorithm: str | None = Field(default=None, description="scheduler name; default: the consumer's policy")
    inputs: dict[str, list[float]] | None = Field(default=None, description="modality -> one raw sample")
    input: list[float] | None = Field(default=None, description="shorthand for a single-modality pipeline")
    deadline_ms: float | None = Field(default=None, gt=0, le=60_000, description="default: the consumer contract's")
    request_id: str | None = Field(default=None, min_length=1, max_length=200)
    ground_truth: int | None = Field(default=None, ge=0, description="experiments only; only the oracle reads it")


class FeedbackRequest(_Body):
    request_id: str = Field(min_length=1)
    true_class: int = Field(ge=0)


class PolicyRequest(_Body):
    algorithm: str | None = Field(default=None, description="scheduler for this consumer; null: gateway default")
    degrade: bool = Field(default=False, description="serve with the single fastest feasible model")
    exclude: list[str] = Field(
        default_factory=list, description="models this consumer may not use until cleared (e.g. a slow member)"
    )


class Timings(BaseModel):
    scheduling: float
    preprocessing: float
    fanout: float
    aggregation: float
    total: float
    queueing: float = 0.0  # waiting for a dispatch slot (only with max_in_flight)


class ModalityAnswer(BaseModel):
    status: Literal["ok", "partial", "error"]
    scheduler: str
    predicted_class: int | None
    confidence: float | None
    answered: list[str]
    late: list[str]
    failed: list[str]
    phases: int
    ensemble_size: int
    cost: float
    budget_ms: float
    error: str | None = None
    breach: str | None = None  # why this modality was served knowingly outside the contract (best-effort)


class InferResponse(BaseModel):
    """200 with status ok/partial; 503 with status error, no predicted class, and `error` saying why."""

    request_id: str
    consumer: str
    algorithm: str
    status: Literal["ok", "partial", "error"]
    predicted_class: int | None
    confidence: float | None
    answered: list[str]
    late: list[str]
    failed: list[str]
    phases: int
    ensemble_size: int
    cost: float
    deadline_ms: float
    deadline_missed: bool
    degraded: bool
    priority: float = 0.0  # the plan's dispatch priority (dream: urgency + waiting age)
    timings_ms: Timings
    modalities: dict[str, ModalityAnswer]
    error: str | None = None
    breach: str | None = None  # the modalities' breaches, joined: served knowingly outside the contract


class PolicyState(BaseModel):
    consumer: str
    algorithm: str
    degrade: bool
    exclude: list[str] = []


class CounterRow(BaseModel):
    """One consumer x algorithm: how requests ended, and accuracy over those that got feedback."""

    consumer: str
    algorithm: str
    requests: int
    ok: int
    partial: int
    error: int
    deadline_missed: int
    mean_latency_ms: float | None
    labelled: int
    correct: int
    accuracy: float | None


class StatsResponse(BaseModel):
    requests: int
    rejected: int
    rows: list[CounterRow]
    model_accuracy: dict[str, float]
