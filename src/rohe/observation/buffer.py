"""Probe-side buffering (never blocks, never loses reports) and consumer-side de-duplication."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import OrderedDict, deque
from collections.abc import Iterable
from pathlib import Path

from rohe.core.errors import InvalidInput, Problem
from rohe.observation.reports import Report
from rohe.observation.transports import Backoff, Transport


class ReportBuffer:
    """Batches reports and publishes them from a background task.

    Unsent reports stay in memory up to `max_in_memory`; beyond that they go to a JSON-lines spill file and are
    read back once the transport works again. A failed batch is resent whole, so consumers must de-duplicate.
    Retries back off exponentially from `retry_delay` to `max_retry_delay` (1 s: the buffer only retries while it
    holds reports, and each second of delay after the broker is back widens the gap in which reports reach an
    agent whose windows the idle clock may be closing).
    """

    def __init__(self, transport: Transport, spill_path: Path, *, batch_size: int = 100,
                 max_in_memory: int = 10_000, flush_interval: float = 0.05, retry_delay: float = 0.2,
                 max_retry_delay: float = 1.0) -> None:
        problems = [Problem(name, "must be at least 1", "use a positive number") for name, value in
                    (("batch_size", batch_size), ("max_in_memory", max_in_memory)) if value < 1]
        if problems:
            raise InvalidInput("invalid report buffer settings", problems)
        self._transport = transport
        self.spill_path = spill_path
        self._batch_size, self._max = batch_size, max_in_memory
        self._interval = flush_interval
        self._backoff = Backoff(retry_delay, max_retry_delay)
        self._pending: deque[Report] = deque()
        # A spill file left by an earlier process is picked up and resent.
        self._spilled = len(spill_path.read_text(encoding="utf-8").splitlines()) if spill_path.exists() else 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.sent = 0
        self.failures = 0
        self.spilled_total = 0

    @property
    def backlog(self) -> int:
        return len(self._pending) + self._spilled

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="rohe-report-buffer")

    def wake(self) -> None:
        """Send now instead of at the next flush interval (call on the buffer's event loop)."""
        self._wake.set()

    def add(self, report: Report) -> None:
        """Queue one report; returns at once. Past the memory bound the report goes to disk."""
        if len(self._pending) >= self._max or self._spilled:
            # Once anything is on disk, newer reports follow it there so the resend order stays oldest-first.
            with self.spill_path.open("a", encoding="utf-8") as spill:
                spill.write(report.model_dump_json(exclude_none=True) + "\n")
            self._spilled += 1
            self.spilled_total += 1
        else:
            self._pending.append(report)
        if len(self._pending) >= self._batch_size:
            self._wake.set()

    async def close(self, timeout: float = 10.0) -> None:
        """Send what is buffered (waiting at most `timeout` s), stop, and persist any leftover to the spill file."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while self.backlog:
                    self._wake.set()
                    await asyncio.sleep(self._interval)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._pending:
            # Memory dies with the process; keep the unsent reports on disk, oldest first, for the next start.
            older = [r.model_dump_json(exclude_none=True) for r in self._pending]
            newer = self.spill_path.read_text(encoding="utf-8").splitlines() if self._spilled else []
            self.spill_path.write_text("\n".join(older + newer) + "\n", encoding="utf-8")
            self._spilled += len(self._pending)
            self._pending.clear()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._interval):
                    await self._wake.wait()
            self._wake.clear()
            while self._pending or self._spilled:
                if not self._pending:
                    self._reload()
                batch = [self._pending[i] for i in range(min(self._batch_size, len(self._pending)))]
                try:
                    await self._transport.publish(batch)
                except Exception:  # any transport failure means "keep and retry later"
                    self.failures += 1
                    await asyncio.sleep(self._backoff.next())
                    continue
                self._backoff.reset()
                for _ in batch:
                    self._pending.popleft()
                self.sent += len(batch)

    def _reload(self) -> None:
        """Move up to `max_in_memory` spilled reports back into memory; the rest stay on disk."""
        lines = self.spill_path.read_text(encoding="utf-8").splitlines()
        head, tail = lines[: self._max], lines[self._max :]
        self._pending.extend(Report.model_validate_json(line) for line in head)
        if tail:
            self.spill_path.write_text("\n".join(tail) + "\n", encoding="utf-8")
        else:
            self.spill_path.unlink()
        self._spilled = len(tail)


class Deduplicator:
    """Remembers the most recent `capacity` report ids so resent batches are counted once."""

    def __init__(self, capacity: int = 100_000) -> None:
        if capacity < 1:
            raise InvalidInput("invalid deduplicator", [Problem("capacity", "must be at least 1", "use e.g. 100000")])
        self._capacity = capacity
        self._seen: OrderedDict[uuid.UUID, None] = OrderedDict()
        self.duplicates = 0

    def remember(self, ids: Iterable[uuid.UUID]) -> None:
        """Mark ids as seen (e.g. restored after a restart) without counting them as duplicates."""
        for report_id in ids:
            self._seen[report_id] = None
            if len(self._seen) > self._capacity:
                self._seen.popitem(last=False)

    def fresh(self, batch: list[Report]) -> list[Report]:
        """Return only the reports not seen before, remembering their ids."""
        out: list[Report] = []
        for report in batch:
            if report.report_id in self._seen:
                self.duplicates += 1
                continue
            self._seen[report.report_id] = None
            if len(self._seen) > self._capacity:
                self._seen.popitem(last=False)
            out.append(report)
        return out
