"""Sending a schedule to a gateway over HTTP, open-loop.

Each request is its own asyncio task, started at its intended time; when the phase's in-flight cap is
reached the request is recorded as dropped by the client at that time instead of waiting for a free slot,
and latency always runs from the intended time. So an overloaded gateway shows up as latency, misses and
drops, never as a quietly lower offered load.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from rohe.serving.loadgen.profile import WorkloadProfile
from rohe.serving.loadgen.results import DEFAULT_ALGORITHM, RequestOutcome, RequestResult, RunResult
from rohe.serving.loadgen.samples import LabelledSamples
from rohe.serving.loadgen.schedule import PlannedRequest, Schedule, build_schedule

# Started a moment after the schedule is built so the first requests are not already late.
LEAD_S = 0.05


@dataclass(frozen=True)
class TimedAction:
    """Something to do at `at_s` seconds into the run (run in a thread, so it may block), e.g. kill a
    model service. What it returns is added to the run's events."""

    at_s: float
    name: str
    action: Callable[[], dict[str, object] | None]


@dataclass
class _Counters:
    in_flight: int = 0
    feedback_sent: int = 0
    feedback_failed: int = 0


class LoadGenerator:
    def __init__(
        self,
        base_url: str,
        samples: LabelledSamples,
        *,
        session: aiohttp.ClientSession | None = None,
        console: Console | None = None,
        token: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.samples = samples
        self._session = session
        # A gateway started with a token refuses /infer and /feedback without it (docs/security.md).
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.console = console or Console(stderr=True)

    async def run(
        self,
        profile: WorkloadProfile,
        *,
        actions: Sequence[TimedAction] = (),
        progress: bool = False,
        schedule: Schedule | None = None,
    ) -> RunResult:
        """Send `profile`'s requests, or `schedule`'s when given (made elsewhere, e.g. an experiment's queries;
        the profile then gives only the name, deadline, timeout and feedback)."""
        schedule = schedule or build_schedule(profile, len(self.samples))
        cap = max(schedule.max_concurrency.values())
        # aiohttp, not httpx: the generator shares the machine with what it measures, and httpcore's pool costs
        # milliseconds of CPU per request once hundreds of connections are open.
        client = self._session or aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=profile.timeout_s),
            # Room for every in-flight request plus its feedback call: the pool must never be the queue.
            connector=aiohttp.TCPConnector(limit=2 * cap + 4, limit_per_host=0),
        )
        try:
            return await self._run(client, profile, schedule, actions, progress)
        finally:
            if self._session is None:
                await client.close()

    async def _run(
        self,
        client: aiohttp.ClientSession,
        profile: WorkloadProfile,
        schedule: Schedule,
        actions: Sequence[TimedAction],
        show_progress: bool,
    ) -> RunResult:
        loop = asyncio.get_running_loop()
        start = loop.time() + LEAD_S
        started_unix = time.time() + LEAD_S
        run_id = uuid.uuid4().hex[:8]
        counters = _Counters()
        results: list[RequestResult | None] = [None] * len(schedule)
        tasks: set[asyncio.Task[None]] = set()
        events: list[dict[str, object]] = []
        progress = Progress(
            TextColumn("[bold]load[/] {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
            disable=not show_progress,
        )
        bar = progress.add_task(profile.name, total=len(schedule))

        def done(index: int, result: RequestResult) -> None:
            results[index] = result
            progress.advance(bar)

        async def one(planned: PlannedRequest, intended: float) -> None:
            try:
                done(planned.index, await self._send(client, profile, planned, start, intended, run_id, counters))
            finally:
                counters.in_flight -= 1

        action_tasks = [asyncio.create_task(self._act(a, start, events)) for a in sorted(actions, key=_at)]
        with progress:
            for planned in schedule.requests:
                intended = start + planned.at_s
                delay = intended - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                if counters.in_flight >= schedule.max_concurrency[planned.phase]:
                    done(planned.index, self._dropped(planned))
                    continue
                counters.in_flight += 1
                task = asyncio.create_task(one(planned, intended))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            while tasks:
                await asyncio.wait(set(tasks))
            elapsed = loop.time() - start
            await asyncio.gather(*action_tasks)
        finished = [r for r in results if r is not None]
        if len(finished) != len(schedule):  # a bug here would silently flatter every figure
            raise RuntimeError(f"{len(schedule) - len(finished)} scheduled request(s) have no outcome")
        return RunResult(
            results=finished,
            duration_s=schedule.duration_s,
            elapsed_s=max(elapsed, schedule.duration_s),
            phases=[(p.name, p.start_s, p.end_s) for p in schedule.phases],
            events=events,
            feedback_sent=counters.feedback_sent,
            feedback_failed=counters.feedback_failed,
            started_unix=started_unix,
        )

    async def _act(self, action: TimedAction, start: float, events: list[dict[str, object]]) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(max(0.0, start + action.at_s - loop.time()))
        at = loop.time() - start
        try:
            outcome = await asyncio.to_thread(action.action) or {}
        except Exception as exc:  # an action failing is part of the record, not a reason to stop the load
            outcome = {"error": f"{type(exc).__name__}: {exc}"}
        events.append({"at_s": round(at, 3), "event": action.name, **outcome})

    def _dropped(self, planned: PlannedRequest) -> RequestResult:
        return RequestResult(
            index=planned.index,
            phase=planned.phase,
            consumer=planned.consumer,
            algorithm=planned.algorithm or DEFAULT_ALGORITHM,
            intended_s=planned.at_s,
            status=RequestOutcome.DROPPED,
            true_class=self.samples.labels[planned.sample],
            error="in-flight cap reached",
        )

    async def _send(
        self,
        client: aiohttp.ClientSession,
        profile: WorkloadProfile,
        planned: PlannedRequest,
        start: float,
        intended: float,
        run_id: str,
        counters: _Counters,
    ) -> RequestResult:
        loop = asyncio.get_running_loop()
        label = self.samples.labels[planned.sample]
        request_id = f"{run_id}-{planned.index}"
        body: dict[str, Any] = {
            "consumer": planned.consumer,
            "algorithm": planned.algorithm,
            **self.samples.request_fields(planned.sample),
            "deadline_ms": profile.deadline_ms,
            "request_id": request_id,
            # Only the oracle may see the answer; every other algorithm is judged blind.
            "ground_truth": label if planned.algorithm == "oracle" else None,
        }
        sent = loop.time()
        base: dict[str, Any] = {
            "index": planned.index,
            "phase": planned.phase,
            "consumer": planned.consumer,
            "intended_s": planned.at_s,
            "sent_s": sent - start,
            "true_class": label,
            "request_id": request_id,
        }
        requested = planned.algorithm or DEFAULT_ALGORITHM
        try:
            async with client.post(f"{self.base_url}/infer", json=body, headers=self._headers) as response:
                status, raw = response.status, await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            latency = (loop.time() - intended) * 1000
            return RequestResult(
                **base,
                algorithm=requested,
                status=RequestOutcome.ERROR,
                latency_ms=latency,
                error=f"{type(exc).__name__}: {exc}"[:300],
            )
        latency = (loop.time() - intended) * 1000
        result = _from_response(status, raw, base, requested, latency)
        if profile.feedback and result.is_answered:
            await self._feedback(client, request_id, label, counters)
        return result

    async def _feedback(self, client: aiohttp.ClientSession, request_id: str, label: int, counters: _Counters) -> None:
        try:
            async with client.post(
                f"{self.base_url}/feedback",
                json={"request_id": request_id, "true_class": label},
                headers=self._headers,
            ) as response:
                ok = response.status == 200
        except (aiohttp.ClientError, TimeoutError):
            ok = False
        if ok:
            counters.feedback_sent += 1
        else:
            counters.feedback_failed += 1


def _at(action: TimedAction) -> float:
    return action.at_s


def _from_response(
    http_status: int, raw: bytes, base: dict[str, Any], requested: str, latency: float
) -> RequestResult:
    try:
        document = json.loads(raw)
    except ValueError:
        document = None
    if not isinstance(document, dict) or "status" not in document:
        # A 4xx (unknown consumer, bad input) or something that is not the gateway at all.
        return RequestResult(
            **base,
            algorithm=requested,
            status=RequestOutcome.ERROR,
            latency_ms=latency,
            http_status=http_status,
            error=f"HTTP {http_status}: {raw[:300].decode(errors='replace')}",
        )
    status = {"ok": RequestOutcome.OK, "partial": RequestOutcome.PARTIAL}.get(
        str(document.get("status")), RequestOutcome.ERROR
    )
    deadline = _float(document.get("deadline_ms"))
    missed = bool(document.get("deadline_missed")) or status is RequestOutcome.ERROR
    if deadline is not None and latency > deadline:
        missed = True
    timings = document.get("timings_ms") or {}
    answered = tuple(document.get("answered") or ())
    return RequestResult(
        **base,
        algorithm=requested,
        served_algorithm=str(document["algorithm"]) if document.get("algorithm") else None,
        status=status,
        latency_ms=latency,
        http_status=http_status,
        predicted_class=_int(document.get("predicted_class")) if status is not RequestOutcome.ERROR else None,
        confidence=_float(document.get("confidence")),
        deadline_ms=deadline,
        deadline_missed=missed,
        ensemble_size=int(document.get("ensemble_size") or len(answered)),
        cost=_float(document.get("cost")) or 0.0,
        answered=answered,
        late=tuple(document.get("late") or ()),
        failed=tuple(document.get("failed") or ()),
        gateway_ms=_float(timings.get("total")) if isinstance(timings, dict) else None,
        fanout_ms=_float(timings.get("fanout")) if isinstance(timings, dict) else None,
        error=document.get("error") or (None if http_status < 400 else f"HTTP {http_status}"),
        breach=_breach(document),
    )


def _breach(document: dict[str, Any]) -> str | None:
    """The answer's `breach` (or its modalities' ones, joined): why the contract was knowingly breached."""
    reasons = [str(document["breach"])] if document.get("breach") else []
    modalities = document.get("modalities")
    if isinstance(modalities, dict):
        reasons += [f"{m}: {a['breach']}" for m, a in modalities.items() if isinstance(a, dict) and a.get("breach")]
    return "; ".join(reasons) or None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def run_workload(
    base_url: str,
    profile: WorkloadProfile,
    samples: LabelledSamples,
    *,
    actions: Sequence[TimedAction] = (),
    progress: bool = False,
    console: Console | None = None,
    token: str | None = None,
) -> RunResult:
    """Blocking convenience: run the profile against the gateway at `base_url` in a fresh event loop."""
    generator = LoadGenerator(base_url, samples, console=console, token=token)
    return asyncio.run(generator.run(profile, actions=actions, progress=progress))
