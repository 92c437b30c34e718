"""Calling every chosen member's /predict in parallel, each bounded by what is left of the deadline.

A member that is still running at the deadline is cancelled and reported late; a member whose replica
refuses the connection or answers 5xx gets one more try on another replica of the same model, if the
model has one and time remains. Nothing here waits past the deadline, whatever the services do.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType

import aiohttp
from pydantic import ValidationError

from rohe.core.errors import InvalidInput, Problem
from rohe.serving.dataplane.aggregation import MemberPrediction
from rohe.serving.dataplane.endpoints import ModelEndpoints
from rohe.serving.model_service.schema import PredictResponse

# One retry: a second failure on another replica is more likely a broken model than bad luck.
MAX_ATTEMPTS = 2
_JSON_HEADERS = {"content-type": "application/json"}


class MemberStatus(StrEnum):
    ANSWERED = "answered"
    LATE = "late"
    FAILED = "failed"


@dataclass(frozen=True)
class MemberOutcome:
    """What happened to one member. `replica_url` is the last replica tried; `latency_ms` spans all tries."""

    model: str
    status: MemberStatus
    latency_ms: float
    replica_url: str | None
    attempts: int
    error: str | None = None
    inference_ms: float | None = None


@dataclass(frozen=True)
class FanoutResult:
    outcomes: tuple[MemberOutcome, ...]
    predictions: tuple[MemberPrediction, ...]

    def models_with(self, status: MemberStatus) -> tuple[str, ...]:
        return tuple(o.model for o in self.outcomes if o.status is status)

    @property
    def any_answered(self) -> bool:
        return bool(self.predictions)


class _Retryable(Exception):
    """A failure another replica might not have (connection refused, reset, 5xx)."""


class _Fatal(Exception):
    """A failure every replica would repeat (4xx, a reply that is not a prediction)."""


class FanoutClient:
    """Owns one pooled HTTP/1.1 session for all members; use `async with` or call `aclose()`.

    aiohttp rather than httpx on this path: httpcore's pool re-scans every pooled connection on each request,
    which cost the gateway ~5 ms of CPU per three-member request; aiohttp's pool does not.
    The session is created lazily, inside the event loop that will use it.
    """

    def __init__(
        self,
        endpoints: ModelEndpoints,
        *,
        session: aiohttp.ClientSession | None = None,
        max_connections: int = 256,
    ) -> None:
        self.endpoints = endpoints
        self._owns_session = session is None
        self._session = session
        self._max_connections = max_connections

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections, limit_per_host=0),
                # Per-request timeouts are always set from the deadline; this default only guards misuse.
                timeout=aiohttp.ClientTimeout(total=10.0),
                skip_auto_headers=("User-Agent",),
            )
        return self._session

    async def __aenter__(self) -> FanoutClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()

    async def fan_out(
        self, request_id: str, sample: Sequence[float], members: Sequence[str], deadline_ms: float
    ) -> FanoutResult:
        """Ask every member about one sample; outcomes come back in the order of `members`."""
        _check_request(sample, members, deadline_ms)
        for model in members:
            self.endpoints.replicas(model)  # unknown models fail before any request leaves
        # Encoded once here rather than once per member by httpx.
        payload = json.dumps({"request_id": request_id, "input": [float(x) for x in sample]}).encode()
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + deadline_ms / 1000
        tasks = [asyncio.create_task(self._call_member(model, payload, deadline)) for model in members]
        try:
            # Every task bounds itself by the deadline; this wait is the backstop that makes hanging impossible.
            await asyncio.wait(tasks, timeout=max(0.0, deadline - loop.time()) + 0.05)
        finally:
            # Also reached when our caller is cancelled: no member request may outlive the fan-out.
            leftovers = [task for task in tasks if not task.done()]
            for task in leftovers:
                task.cancel()
            if leftovers:
                await asyncio.wait(leftovers)
        backstop_ms = (loop.time() - started) * 1000
        outcomes: list[MemberOutcome] = []
        predictions: list[MemberPrediction] = []
        for model, task in zip(members, tasks, strict=True):
            if task.cancelled():
                outcome = MemberOutcome(model, MemberStatus.LATE, backstop_ms, None, 0, "cancelled at the deadline")
                prediction = None
            elif (problem := task.exception()) is not None:
                # A bug or an unexpected reply: report the member, never fail the whole request.
                outcome = MemberOutcome(model, MemberStatus.FAILED, backstop_ms, None, 0, repr(problem))
                prediction = None
            else:
                outcome, prediction = task.result()
            outcomes.append(outcome)
            if prediction is not None:
                predictions.append(prediction)
        return FanoutResult(tuple(outcomes), tuple(predictions))

    async def _call_member(
        self, model: str, payload: bytes, deadline: float
    ) -> tuple[MemberOutcome, MemberPrediction | None]:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        replicas = self.endpoints.rotation(model)[:MAX_ATTEMPTS]
        url: str | None = None
        errors: list[str] = []

        def outcome(status: MemberStatus, attempts: int, inference_ms: float | None = None) -> MemberOutcome:
            error = "; ".join(errors) or None
            elapsed = (time.perf_counter() - started) * 1000
            return MemberOutcome(model, status, elapsed, url, attempts, error, inference_ms)

        for attempt, url in enumerate(replicas, start=1):
            remaining = deadline - loop.time()
            if remaining <= 0:
                errors.append("deadline passed before a retry could start")
                return outcome(MemberStatus.LATE, attempt - 1), None
            try:
                # track: a replica removed from the placement drains until this call ends (endpoints.py)
                with self.endpoints.track(url):
                    async with asyncio.timeout_at(deadline):
                        response = await self._post(url, payload, remaining)
            except TimeoutError:
                errors.append(f"{url}: no answer within the deadline")
                return outcome(MemberStatus.LATE, attempt), None
            except _Retryable as exc:
                errors.append(f"{url}: {exc}")
                continue
            except _Fatal as exc:
                errors.append(f"{url}: {exc}")
                return outcome(MemberStatus.FAILED, attempt), None
            prediction = response.predictions[0]
            member = MemberPrediction(
                model, tuple(prediction.probabilities), prediction.predicted_class, prediction.confidence
            )
            return outcome(MemberStatus.ANSWERED, attempt, response.inference_ms), member
        if len(replicas) < MAX_ATTEMPTS:
            errors.append("no other replica to retry on")
        return outcome(MemberStatus.FAILED, len(replicas)), None

    async def _post(self, url: str, payload: bytes, remaining: float) -> PredictResponse:
        try:
            async with self._client().post(
                f"{url}/predict", data=payload, headers=_JSON_HEADERS, timeout=aiohttp.ClientTimeout(total=remaining)
            ) as response:
                status = response.status
                body = await response.read()
        except TimeoutError:
            raise
        except aiohttp.ClientError as exc:
            raise _Retryable(f"{type(exc).__name__}: {exc}") from exc
        if status >= 500:
            raise _Retryable(f"HTTP {status}: {body[:200].decode(errors='replace')}")
        if status >= 400:
            raise _Fatal(f"HTTP {status}: {body[:200].decode(errors='replace')}")
        try:
            parsed = PredictResponse.model_validate_json(body)
        except ValidationError as exc:
            raise _Fatal(f"reply is not a prediction: {exc.errors()[0]['msg']}") from exc
        if len(parsed.predictions) != 1:
            raise _Fatal(f"expected one prediction for one input, got {len(parsed.predictions)}")
        return parsed


def _check_request(sample: Sequence[float], members: Sequence[str], deadline_ms: float) -> None:
    problems = []
    if not members:
        problems.append(Problem("members", "is empty", "choose at least one model"))
    if len(set(members)) != len(members):
        problems.append(Problem("members", f"{list(members)} names a model twice", "list each model once"))
    if not sample or any(not math.isfinite(float(x)) for x in sample):
        problems.append(Problem("input", "must be a non-empty list of finite numbers", ""))
    if not math.isfinite(deadline_ms) or deadline_ms <= 0:
        problems.append(Problem("deadline_ms", f"{deadline_ms} is not a positive number", "e.g. 200"))
    if problems:
        raise InvalidInput("invalid inference request", problems)
