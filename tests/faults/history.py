"""Jepsen-style bookkeeping for fault tests: the publisher's history (ids sent, ids the broker acknowledged) against
what the store holds after the fault.

The publisher resends a batch until the broker confirms it (QoS 1 PUBACK, AMQP publisher confirm, JetStream ack),
as a probe does, so in the end every sent report is acknowledged. The store keeps aggregates, not ids: each
request report counts once in the `requests` of its all-consumers tumbling window. So `stored` below the number
acknowledged is loss, above the number of distinct reports sent is double counting.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from rohe.observation.metrics import ALL_CONSUMERS
from rohe.observation.reports import Report, ReportKind
from rohe.observation.store import ObservationStore
from rohe.observation.transports import Transport


@dataclass
class History:
    sent: set[uuid.UUID] = field(default_factory=set)
    acked: set[uuid.UUID] = field(default_factory=set)
    attempts: int = 0
    failures: int = 0


@dataclass(frozen=True)
class Outcome:
    scenario: str
    sent: int
    acked: int
    stored: int
    publish_failures: int

    @property
    def lost(self) -> int:
        return max(0, self.acked - self.stored)

    @property
    def duplicated(self) -> int:
        return max(0, self.stored - self.sent)

    def line(self) -> str:
        return (f"{self.scenario}: sent {self.sent}, acknowledged {self.acked}, stored {self.stored}, lost {self.lost},"
                f" double counted {self.duplicated}, publish failures {self.publish_failures}")


Fault = tuple[float, Callable[[], None]]  # seconds after publishing starts, and what to do (runs in a thread)


async def publish_with_faults(transport: Transport, app: str, run: str, history: History, *, count: int,
                              batch: int, duration_s: float, faults: list[Fault]) -> None:
    """Publish `count` request reports, stamped now, in batches spread over `duration_s`, running each fault at
    its time meanwhile. A failed batch is retried until acknowledged."""
    started = time.monotonic()
    pending = sorted(faults, key=lambda f: f[0])
    fault_tasks: list[asyncio.Task[None]] = []

    async def run_faults() -> None:
        for at, action in pending:
            await asyncio.sleep(max(0.0, started + at - time.monotonic()))
            await asyncio.to_thread(action)

    fault_tasks.append(asyncio.create_task(run_faults()))
    batches = (count + batch - 1) // batch
    for i in range(batches):
        await asyncio.sleep(max(0.0, started + duration_s * i / batches - time.monotonic()))
        size = min(batch, count - i * batch)
        reports = [Report(app=app, run=run, kind=ReportKind.REQUEST, request_id=f"q{i}-{j}",
                          end_to_end_ms=5.0, timestamp=datetime.now(UTC)) for j in range(size)]
        history.sent.update(r.report_id for r in reports)
        while True:
            history.attempts += 1
            try:
                await transport.publish(reports)
            except Exception:
                history.failures += 1
                await asyncio.sleep(0.1)
                continue
            history.acked.update(r.report_id for r in reports)
            break
    await asyncio.gather(*fault_tasks)


def stored_requests(store: ObservationStore, app: str, run: str) -> int:
    return sum(w.requests for w in store.list_windows(app, run) if w.consumer == ALL_CONSUMERS)


def wait_stored(store: ObservationStore, app: str, run: str, want: int, timeout: float) -> int:
    """Poll the store until it holds `want` requests or `timeout` passes; returns what it holds."""
    deadline = time.monotonic() + timeout
    while True:
        stored = stored_requests(store, app, run)
        if stored >= want or time.monotonic() > deadline:
            return stored
        time.sleep(0.2)
