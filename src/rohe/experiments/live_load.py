"""One live arm: the workload's queries sent open-loop to a serving gateway by rohe's load generator
(rohe.serving.loadgen, the sender behind `rohe loadgen`), each answer turned into a Row.

The queries become the generator's schedule as they are: each is sent at its arrival time whatever earlier
queries are doing, with no in-flight cap, so an overloaded gateway shows as latency and misses, never as a
quietly lower offered load. Latency runs from the arrival (intended send) time to the answer, as in the
simulator, so client lag counts against the arm. A query the gateway does not answer (error status, HTTP
error, timeout, refused connection) is a row too: unanswered and late. Nothing is dropped, so rows ==
queries sent; `live/<arm>-r<repetition>.csv` keeps what the rows cannot (send time, HTTP status, gateway
status, served algorithm, the gateway's own total and fan-out time, error): latency - fan-out is the
overhead a simulated twin's `gateway_overhead_s` stands for.
"""

from __future__ import annotations

import asyncio
import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rohe.experiments.rows import Row
from rohe.serving.loadgen.profile import PhaseSpec, WorkloadProfile
from rohe.serving.loadgen.results import RequestResult
from rohe.serving.loadgen.runner import LoadGenerator
from rohe.serving.loadgen.samples import LabelledSamples
from rohe.serving.loadgen.schedule import PhaseWindow, PlannedRequest, Schedule
from rohe.simulation import SimQuery

PHASE = "live"
DETAIL_COLUMNS = (
    "query_id", "arrival_s", "sent_s", "latency_s", "http_status", "status", "algorithm", "gateway_ms", "fanout_ms",
    "error",
)  # fmt: skip


@dataclass(frozen=True)
class ArmLoad:
    """Who asks, under which scheduler and deadline, and which labelled sample each query sends."""

    consumer: str
    algorithm: str
    deadline_ms: float | None
    samples: LabelledSamples
    sample_of: tuple[int, ...]  # per query, its row of `samples`


def schedule_of(queries: Sequence[SimQuery], load: ArmLoad) -> Schedule:
    end = max((q.arrival_s for q in queries), default=0.0)
    requests = tuple(
        PlannedRequest(i, PHASE, load.consumer, load.algorithm, q.arrival_s, sample)
        for i, (q, sample) in enumerate(zip(queries, load.sample_of, strict=True))
    )
    rate = len(queries) / end if end > 0 else 1.0
    # No in-flight cap: an open loop never waits for a free slot.
    return Schedule(requests, (PhaseWindow(PHASE, 0.0, end, rate),), {PHASE: len(requests) + 1})


def send_open_loop(
    url: str, queries: Sequence[SimQuery], load: ArmLoad, *, token: str | None, timeout_s: float
) -> list[RequestResult]:
    """The queries' answers, in query order."""
    schedule = schedule_of(queries, load)
    profile = WorkloadProfile(
        name=load.algorithm, deadline_ms=load.deadline_ms, timeout_s=timeout_s,
        phases=[PhaseSpec(name=PHASE, duration_s=max(schedule.duration_s, 1e-3), rate=1.0, mix={load.consumer: 1})],
    )  # fmt: skip
    generator = LoadGenerator(url, load.samples, token=token)
    result = asyncio.run(generator.run(profile, schedule=schedule))
    return sorted(result.results, key=lambda r: r.index)


def to_row(
    arm: str, repetition: int, seed: int, query: SimQuery, result: RequestResult, deadline_ms: float | None
) -> Row:
    answered = result.is_answered and result.predicted_class is not None
    deadline = result.deadline_ms if result.deadline_ms is not None else deadline_ms
    deadline_s = deadline / 1000 if deadline is not None else math.nan
    latency = result.latency_ms / 1000 if answered and result.latency_ms is not None else math.nan
    # The gateway judges its own time; the client's (from the arrival) also counts, as in the simulator.
    late = not answered or result.deadline_missed or (not math.isnan(deadline_s) and latency > deadline_s)
    members = result.answered if answered else ()
    predicted = result.predicted_class if answered and result.predicted_class is not None else -1
    return Row(
        arm, repetition, seed, query.query_id, query.arrival_s, latency, deadline_s, answered, late,
        query.true_class, predicted, (predicted == query.true_class) if answered else None, len(members), members,
        result.cost if answered else 0.0,
    )  # fmt: skip


def write_details(queries: Sequence[SimQuery], results: Sequence[RequestResult], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(DETAIL_COLUMNS)
        for q, r in zip(queries, results, strict=True):
            latency = "" if r.latency_ms is None or not r.is_answered else repr(r.latency_ms / 1000)
            writer.writerow(
                [q.query_id, repr(q.arrival_s), "" if r.sent_s is None else repr(r.sent_s), latency,
                 "" if r.http_status is None else r.http_status, r.status.value, r.served_algorithm or "",
                 "" if r.gateway_ms is None else r.gateway_ms, "" if r.fanout_ms is None else r.fanout_ms,
                 r.error or ""]
            )  # fmt: skip
    return path
