"""The versioned report schema probes send, and its compact JSON batch encoding."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

SCHEMA_VERSION: Literal[1] = 1


class ReportKind(StrEnum):
    REQUEST = "request"
    RESOURCE = "resource"
    FEEDBACK = "feedback"  # ground truth for an earlier request, joined by request_id


class RequestStatus(StrEnum):
    OK = "ok"
    PARTIAL = "partial"  # answered, but some members were late or failed
    ERROR = "error"  # no member answered


# Infinity and NaN are refused at the edge: JSON cannot carry them back out, so one `cost: 1e999` would make every
# sum over its window (and the API answer holding it) non-finite or null.
class ResourceUse(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    cpu: float = Field(ge=0, description="CPU cores in use")
    memory: float = Field(ge=0, description="memory in MiB")
    gpu: float = Field(default=0.0, ge=0, description="GPU utilisation fraction")


class Report(BaseModel):
    """One observation: either a served request or a resource sample."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    schema_version: Literal[1] = SCHEMA_VERSION
    report_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    app: str = Field(min_length=1)
    run: str = Field(min_length=1)
    kind: ReportKind
    timestamp: datetime = Field(default_factory=lambda: datetime.now(UTC))
    consumer: str | None = Field(default=None, description="the tenant whose contract the request counts for")
    service: str | None = None
    node: str | None = None
    request_id: str | None = None
    model_id: str | None = Field(default=None, description="the model (or aggregator) this report is about")
    status: RequestStatus | None = None
    members: list[str] = Field(default_factory=list, description="models that answered")
    late: list[str] = Field(default_factory=list, description="models that were late or failed")
    cost: float | None = Field(default=None, ge=0)
    true_class: str | None = Field(default=None, description="feedback reports: the ground-truth class")
    attributes: dict[str, str] = Field(default_factory=dict, description="free labels for derived-metric filters")
    stage_latency_ms: dict[str, float] = Field(default_factory=dict)
    end_to_end_ms: float | None = Field(default=None, ge=0)
    predicted_class: str | None = None
    confidence: float | None = Field(default=None, ge=0, le=1)
    resource: ResourceUse | None = None

    @model_validator(mode="after")
    def _fields_match_kind(self) -> Report:
        # A resource report without usage, or a request report carrying usage, is a probe bug worth rejecting early.
        if self.kind is ReportKind.RESOURCE and self.resource is None:
            raise ValueError("resource reports need 'resource' (cpu, memory, gpu)")
        if self.kind is not ReportKind.RESOURCE and self.resource is not None:
            raise ValueError("only resource reports carry 'resource'; send a separate resource report")
        if self.kind is ReportKind.FEEDBACK and (self.request_id is None or self.true_class is None):
            raise ValueError("feedback reports need 'request_id' and 'true_class'")
        return self


class ReportSink(Protocol):
    """Where services emit reports: a probe, or in tests anything with `submit` (a list collector)."""

    def submit(self, report: Report) -> None:
        """Take one report; must never block and never raise on transport trouble."""


class DecodeStats:
    """Counts what a consumer received, so bad messages are visible without stopping the loop."""

    def __init__(self) -> None:
        self.messages = 0
        self.reports = 0
        self.errors = 0  # messages that were not wholly valid (unreadable, or holding at least one bad report)
        self.rejected = 0  # single reports dropped from otherwise readable batches
        self.last_error = ""

    def fail(self, error: object) -> None:
        self.errors += 1
        self.last_error = str(error)[:300]


# pydantic's Rust serialiser does a whole batch in one call, several times faster than dumping report by report.
_BATCH: TypeAdapter[list[Report]] = TypeAdapter(list[Report])
_ONE: TypeAdapter[Report] = TypeAdapter(Report)


def encode_batch(reports: list[Report]) -> bytes:
    """Encode reports as one compact JSON array (no nulls)."""
    return _BATCH.dump_json(reports, exclude_none=True)


def decode_batch(payload: bytes | str, stats: DecodeStats | None = None) -> list[Report]:
    """Decode a batch; what cannot be decoded is counted in `stats`, never raised.

    A valid batch is parsed and validated in one pass in pydantic-core. Otherwise the batch is read as a plain
    JSON array and validated report by report, so one bad report costs only itself: the good ones in the same
    batch are kept, the bad ones counted in `rejected`. Unreadable JSON, or JSON that is not an array, yields [].
    """
    counter = stats if stats is not None else DecodeStats()
    counter.messages += 1
    try:
        reports = _BATCH.validate_json(payload)
    except (ValueError, ValidationError, TypeError) as exc:
        reports = _salvage(payload, exc, counter)
    counter.reports += len(reports)
    return reports


def _salvage(payload: bytes | str, error: Exception, counter: DecodeStats) -> list[Report]:
    try:
        items = json.loads(payload)
    except (ValueError, TypeError):
        items = None
    if not isinstance(items, list):
        counter.fail(error)
        return []
    kept: list[Report] = []
    first_error: Exception | None = None
    for item in items:
        try:
            kept.append(_ONE.validate_python(item))
        except (ValueError, ValidationError, TypeError) as exc:
            counter.rejected += 1
            first_error = first_error or exc
    counter.fail(first_error or error)
    return kept
