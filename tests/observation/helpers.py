"""Shared builders and a bounded publish/receive round trip for transport tests."""

from __future__ import annotations

import asyncio
import uuid

from rohe.observation.reports import Report, ReportKind, ResourceUse
from rohe.observation.transports import Transport


def make_reports(count: int, app: str = "app", run: str = "run") -> list[Report]:
    out: list[Report] = []
    for i in range(count):
        if i % 5 == 4:
            out.append(Report(app=app, run=run, kind=ReportKind.RESOURCE,
                              resource=ResourceUse(cpu=0.5, memory=128.0, gpu=0.1)))
        else:
            out.append(Report(app=app, run=run, kind=ReportKind.REQUEST, request_id=f"req-{i}", model_id="m1",
                              stage_latency_ms={"pre": 1.5, "infer": 7.25}, end_to_end_ms=9.0,
                              predicted_class="cat", confidence=0.9))
    return out


async def round_trip(transport: Transport, reports: list[Report], batch: int, timeout: float) -> list[uuid.UUID]:
    """Publish `reports` in batches and collect ids until all arrived; fails via TimeoutError if some never do."""
    received: list[uuid.UUID] = []
    stream = await transport.subscribe()

    async def consume() -> None:
        async for got in stream:
            received.extend(r.report_id for r in got)
            if len(received) >= len(reports):
                return

    async with asyncio.timeout(timeout):
        consumer = asyncio.create_task(consume())
        for start in range(0, len(reports), batch):
            await transport.publish(reports[start : start + batch])
        await consumer
        await stream.aclose()  # unregisters the consumer before the test deletes the queue
    return received


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"
