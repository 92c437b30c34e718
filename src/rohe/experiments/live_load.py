"""One live arm: the workload's queries sent open-loop to a serving gateway, each answer turned into a Row.

Every query is its own asyncio task, started at its arrival time whatever earlier queries are doing, so an
overloaded gateway shows as latency and misses, never as a quietly lower offered load. Latency runs from the
arrival (intended send) time to the answer, as in the simulator, so client lag counts against the arm. A
query the gateway does not answer (error status, HTTP error, timeout, refused connection) is a row too:
unanswered and late. Nothing is dropped, so rows == queries sent; `live/<arm>-r<repetition>.csv` keeps what
the rows cannot (send time, HTTP status, gateway status, served algorithm, the gateway's own total and fan-out
time, error): latency - fan-out is the overhead a simulated twin's `gateway_overhead_s` stands for.
"""

from __future__ import annotations

import asyncio
import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from rohe.experiments.rows import Row
from rohe.simulation import SimQuery

# Started a moment after the loop is ready, so the first queries are not already late when sent.
LEAD_S = 0.05
ANSWERED = ("ok", "partial")
DETAIL_COLUMNS = (
    "query_id", "arrival_s", "sent_s", "latency_s", "http_status", "status", "algorithm", "gateway_ms", "fanout_ms",
    "error",
)  # fmt: skip


@dataclass(frozen=True)
class Request:
    """What one query sends: its body's input fields and who asks, under which scheduler and deadline."""

    query: SimQuery
    inputs: dict[str, Any]
    consumer: str
    algorithm: str
    deadline_ms: float | None


@dataclass(frozen=True)
class Outcome:
    query: SimQuery
    sent_s: float
    latency_s: float  # from the arrival time; NaN when no answer came back
    http_status: int | None
    body: dict[str, Any] | None
    error: str | None


def _body(request: Request) -> dict[str, Any]:
    body: dict[str, Any] = {
        "consumer": request.consumer,
        "algorithm": request.algorithm,
        "request_id": request.query.query_id,
        **request.inputs,
    }
    if request.deadline_ms is not None:
        body["deadline_ms"] = request.deadline_ms
    if request.algorithm == "oracle":  # only the oracle may see the answer; every other scheduler is blind
        body["ground_truth"] = request.query.true_class
    return body


async def _one(client: httpx.AsyncClient, request: Request, intended: float, start: float) -> Outcome:
    loop = asyncio.get_running_loop()
    sent = loop.time()
    try:
        response = await client.post("/infer", json=_body(request))
    except httpx.HTTPError as exc:
        return Outcome(request.query, sent - start, math.nan, None, None, f"{type(exc).__name__}: {exc}"[:300])
    latency = loop.time() - intended
    try:
        document = response.json()
    except ValueError:
        document = None
    if not isinstance(document, dict) or "status" not in document:
        # Not an answer of the gateway's: a 4xx naming a bad field, or something else listening on the URL.
        error = f"HTTP {response.status_code}: {response.text[:300]}"
        return Outcome(request.query, sent - start, latency, response.status_code, None, error)
    return Outcome(request.query, sent - start, latency, response.status_code, document, document.get("error"))


async def send_open_loop(
    url: str, requests: Sequence[Request], *, token: str | None, timeout_s: float
) -> list[Outcome]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    # No pool limit: a connection pool that queues requests would turn the open loop into a closed one.
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=timeout_s, limits=limits) as client:
        loop = asyncio.get_running_loop()
        start = loop.time() + LEAD_S
        tasks = []
        for request in requests:
            intended = start + request.query.arrival_s
            delay = intended - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(_one(client, request, intended, start)))
        return list(await asyncio.gather(*tasks))


def to_row(arm: str, repetition: int, seed: int, outcome: Outcome, deadline_ms: float | None) -> Row:
    body = outcome.body or {}
    status = body.get("status")
    answer = body.get("predicted_class")
    predicted = answer if isinstance(answer, int) and not isinstance(answer, bool) else None
    answered = status in ANSWERED and predicted is not None
    served_deadline = body.get("deadline_ms")
    deadline = float(served_deadline) if isinstance(served_deadline, int | float) else deadline_ms
    deadline_s = deadline / 1000 if deadline is not None else math.nan
    latency = outcome.latency_s if answered else math.nan
    # The gateway judges its own time; the client's (from the arrival) also counts, as in the simulator.
    late = not answered or bool(body.get("deadline_missed")) or (not math.isnan(deadline_s) and latency > deadline_s)
    members = tuple(str(m) for m in body.get("answered") or ()) if answered else ()
    cost = body.get("cost")
    q = outcome.query
    return Row(
        arm,
        repetition,
        seed,
        q.query_id,
        q.arrival_s,
        latency,
        deadline_s,
        answered,
        late,
        q.true_class,
        predicted if predicted is not None and answered else -1,
        (predicted == q.true_class) if answered else None,
        len(members),
        members,
        float(cost) if isinstance(cost, int | float) and answered else 0.0,
    )


def write_details(outcomes: Sequence[Outcome], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(DETAIL_COLUMNS)
        for o in outcomes:
            body = o.body or {}
            latency = "" if math.isnan(o.latency_s) else repr(o.latency_s)
            status = body.get("status", "error")
            http = "" if o.http_status is None else o.http_status
            timings = body.get("timings_ms") or {}
            writer.writerow(
                [o.query.query_id, repr(o.query.arrival_s), repr(o.sent_s), latency, http, status,
                 body.get("algorithm", ""), timings.get("total", ""), timings.get("fanout", ""), o.error or ""]
            )  # fmt: skip
    return path
