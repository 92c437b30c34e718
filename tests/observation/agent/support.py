"""Report builders on a fixed clock, an in-memory WindowSink, and plug-ins the config tests point at."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from rohe.observation.metrics import WindowMetrics
from rohe.observation.reports import Report, ReportKind, RequestStatus, ResourceUse

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def request(
    t: float,
    rid: str,
    *,
    consumer: str = "c1",
    predicted: str | None = "cat",
    e2e: float = 10.0,
    status: RequestStatus = RequestStatus.OK,
    members: Sequence[str] = ("m1", "m2"),
    cost: float = 1.0,
    confidence: float | None = 0.8,
    app: str = "app",
    run: str = "run",
) -> Report:
    return Report(
        app=app,
        run=run,
        kind=ReportKind.REQUEST,
        timestamp=at(t),
        consumer=consumer,
        request_id=rid,
        status=status,
        members=list(members),
        cost=cost,
        end_to_end_ms=e2e,
        predicted_class=predicted if status is not RequestStatus.ERROR else None,
        confidence=confidence if status is not RequestStatus.ERROR else None,
        stage_latency_ms={"scheduling": 1.0, "aggregation": 2.0},
    )


def member(
    t: float,
    rid: str,
    model: str,
    *,
    predicted: str = "cat",
    inference: float = 5.0,
    failed: bool = False,
    consumer: str = "c1",
) -> Report:
    if failed:
        return Report(
            app="app",
            run="run",
            kind=ReportKind.REQUEST,
            timestamp=at(t),
            consumer=consumer,
            request_id=rid,
            model_id=model,
            status=RequestStatus.ERROR,
        )
    return Report(
        app="app",
        run="run",
        kind=ReportKind.REQUEST,
        timestamp=at(t),
        consumer=consumer,
        request_id=rid,
        model_id=model,
        status=RequestStatus.OK,
        predicted_class=predicted,
        confidence=0.7,
        stage_latency_ms={"inference": inference},
    )


def feedback(t: float, rid: str, true_class: str, consumer: str | None = "c1") -> Report:
    return Report(
        app="app",
        run="run",
        kind=ReportKind.FEEDBACK,
        timestamp=at(t),
        consumer=consumer,
        request_id=rid,
        true_class=true_class,
    )


def resource(t: float, cpu: float, memory: float, service: str = "svc", node: str = "n1") -> Report:
    return Report(
        app="app",
        run="run",
        kind=ReportKind.RESOURCE,
        timestamp=at(t),
        service=service,
        node=node,
        resource=ResourceUse(cpu=cpu, memory=memory),
    )


class MemorySink:
    """WindowSink keeping windows by their natural key (so re-saving overwrites) and counting every save."""

    def __init__(self) -> None:
        self.windows: dict[tuple[str, str, str, str, datetime, datetime], WindowMetrics] = {}
        self.saves: list[tuple[str, str, str, str, datetime, datetime]] = []
        self.state: dict[tuple[str, str], str] = {}
        self.fail = False

    def save_windows(self, windows: Sequence[WindowMetrics]) -> None:
        if self.fail:
            raise ConnectionError("storage down")
        for w in windows:
            key = (w.app, w.run, w.consumer, w.kind.value, w.start, w.end)
            self.windows[key] = w
            self.saves.append(key)

    def load_agent_state(self, app: str, run: str) -> dict[str, Any] | None:
        text = self.state.get((app, run))
        return None if text is None else dict(json.loads(text))

    def save_agent_state(self, app: str, run: str, state: dict[str, Any]) -> None:
        self.state[(app, run)] = json.dumps(state)  # JSON round trip, as a database column would do

    def for_consumer(self, consumer: str) -> list[WindowMetrics]:
        return sorted((w for w in self.windows.values() if w.consumer == consumer), key=lambda w: (w.start, w.kind))


# Plug-ins referenced by dotted path in tests.
def error_share(reports: Sequence[Report]) -> dict[str, float]:
    requests = [r for r in reports if r.kind is ReportKind.REQUEST and r.model_id is None]
    errors = sum(r.status is RequestStatus.ERROR for r in requests)
    return {"error_share": errors / len(requests) if requests else 0.0, "requests": float(len(requests))}


def broken_function(reports: Sequence[Report]) -> dict[str, float]:
    raise RuntimeError("plug-in bug")


def csv_parser(payload: bytes) -> list[Report]:
    """A foreign wire format: one 'request_id,consumer,latency_ms' line per request."""
    out = []
    for line in payload.decode().splitlines():
        rid, consumer, latency = line.split(",")
        out.append(
            Report(
                app="app",
                run="run",
                kind=ReportKind.REQUEST,
                timestamp=at(1.0),
                consumer=consumer,
                request_id=rid,
                status=RequestStatus.OK,
                end_to_end_ms=float(latency),
            )
        )
    return out


NOT_CALLABLE = 42
