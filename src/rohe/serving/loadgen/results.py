"""What happened to every request of a run, and the summary per consumer x algorithm.

Definitions the summary uses (also in the report's summary JSON):
- latency: from the request's INTENDED send time to its answer, so time a request waited on the client
  counts (no coordinated omission); percentiles are over answered requests (ok or partial).
- deadline missed: the gateway said so, or the client-measured latency exceeded the request's deadline, or
  the request got no answer at all (error or dropped by the client). The ratio is over all requests.
- accuracy: predicted class == ground-truth label, over answered requests; confidence plays no part.
- achieved rate: answered requests per second of the run's wall time; offered: scheduled requests per
  second of the schedule.
- breaches: requests the gateway served knowingly outside their contract (the scheduler's best-effort
  fallback, rohe.serving.scheduling.fallback: its plan carries `breach`, the answer says why).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

DEFAULT_ALGORITHM = "default"


class RequestOutcome(StrEnum):
    OK = "ok"
    PARTIAL = "partial"
    ERROR = "error"
    DROPPED = "dropped_by_client"


@dataclass(frozen=True)
class RequestResult:
    index: int
    phase: str
    consumer: str
    algorithm: str  # as requested ("default": the gateway's choice); the summary groups by it
    intended_s: float  # seconds after the run started
    status: RequestOutcome
    true_class: int
    sent_s: float | None = None  # None: dropped before sending
    latency_ms: float | None = None
    http_status: int | None = None
    request_id: str | None = None
    predicted_class: int | None = None
    confidence: float | None = None
    deadline_ms: float | None = None
    deadline_missed: bool = True
    ensemble_size: int = 0
    cost: float = 0.0
    answered: tuple[str, ...] = ()
    late: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    gateway_ms: float | None = None  # the gateway's own total for the request
    fanout_ms: float | None = None  # of which waiting on the members
    served_algorithm: str | None = None  # what the gateway says it ran (a degrade policy may change it)
    error: str | None = None
    breach: str | None = None  # why the plan knowingly breaches the contract (best-effort fallback), if it did

    @property
    def is_answered(self) -> bool:
        return self.status in (RequestOutcome.OK, RequestOutcome.PARTIAL)

    @property
    def correct(self) -> bool | None:
        if not self.is_answered or self.predicted_class is None:
            return None
        return self.predicted_class == self.true_class


@dataclass(frozen=True)
class SummaryRow:
    consumer: str
    algorithm: str
    requests: int
    ok: int
    partial: int
    errors: int
    dropped: int
    offered_rps: float
    achieved_rps: float
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    deadline_miss_ratio: float
    accuracy: float | None
    ensemble_size_mean: float | None
    cost_total: float
    cost_mean: float | None
    breaches: int = 0


@dataclass
class RunResult:
    """A finished run: every request in schedule order plus the context the report needs."""

    results: list[RequestResult]
    duration_s: float  # scheduled length
    elapsed_s: float  # wall time until the last answer
    phases: list[tuple[str, float, float]] = field(default_factory=list)  # name, start_s, end_s
    events: list[dict[str, object]] = field(default_factory=list)  # e.g. a killed and restarted service
    feedback_sent: int = 0
    feedback_failed: int = 0
    started_unix: float = 0.0  # wall-clock time of the run's second 0, to place outside events on it

    def summary(self) -> list[SummaryRow]:
        return summarise(self.results, self.duration_s, self.elapsed_s)


def _percentile(values: Sequence[float], q: float) -> float | None:
    return float(np.percentile(np.asarray(values), q)) if values else None


def summarise_group(
    consumer: str, algorithm: str, results: Sequence[RequestResult], duration_s: float, elapsed_s: float
) -> SummaryRow:
    answered = [r for r in results if r.is_answered]
    latencies = [r.latency_ms for r in answered if r.latency_ms is not None]
    judged = [r.correct for r in answered if r.correct is not None]
    sizes = [r.ensemble_size for r in answered]
    cost_total = math.fsum(r.cost for r in results)
    return SummaryRow(
        consumer=consumer,
        algorithm=algorithm,
        requests=len(results),
        ok=sum(r.status is RequestOutcome.OK for r in results),
        partial=sum(r.status is RequestOutcome.PARTIAL for r in results),
        errors=sum(r.status is RequestOutcome.ERROR for r in results),
        dropped=sum(r.status is RequestOutcome.DROPPED for r in results),
        offered_rps=len(results) / duration_s if duration_s > 0 else 0.0,
        achieved_rps=len(answered) / elapsed_s if elapsed_s > 0 else 0.0,
        latency_p50_ms=_percentile(latencies, 50),
        latency_p99_ms=_percentile(latencies, 99),
        deadline_miss_ratio=sum(r.deadline_missed for r in results) / len(results) if results else 0.0,
        accuracy=sum(judged) / len(judged) if judged else None,
        ensemble_size_mean=sum(sizes) / len(sizes) if sizes else None,
        cost_total=cost_total,
        cost_mean=cost_total / len(answered) if answered else None,
        breaches=sum(r.breach is not None for r in results),
    )


def summarise(results: Iterable[RequestResult], duration_s: float, elapsed_s: float) -> list[SummaryRow]:
    """One row per consumer x algorithm, sorted by consumer then algorithm."""
    groups: dict[tuple[str, str], list[RequestResult]] = {}
    for result in results:
        groups.setdefault((result.consumer, result.algorithm), []).append(result)
    return [
        summarise_group(consumer, algorithm, groups[(consumer, algorithm)], duration_s, elapsed_s)
        for consumer, algorithm in sorted(groups)
    ]
