"""Transports for probe tests: one that records what it was given, one that can be switched off."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncGenerator

from rohe.observation.reports import Report
from rohe.observation.transports import Transport


class RecordingTransport(Transport):
    """Keeps every published batch (thread-safe: the probe publishes from its own thread); `down` makes it fail."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[Report]] = []
        self.down = False
        self.failed_calls = 0
        self.closed = False
        self._lock = threading.Lock()

    async def publish(self, batch: list[Report]) -> None:
        if self.down:
            self.failed_calls += 1
            raise ConnectionError("broker unreachable")
        with self._lock:
            self.batches.append(list(batch))

    @property
    def reports(self) -> list[Report]:
        with self._lock:
            return [report for batch in self.batches for report in batch]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Report]:
        deadline = time.monotonic() + timeout
        while len(self.reports) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(self.reports)} of {count} reports arrived")
            time.sleep(0.005)
        return self.reports

    async def subscribe(self) -> AsyncGenerator[list[Report], None]:
        raise NotImplementedError("tests read .reports instead")

    async def close(self) -> None:
        self.closed = True
