"""The discrete-event core: a binary heap of (time, sequence, kind, payload) events.

Events at the same time leave in the order they were scheduled (the sequence number breaks every tie),
so a run never depends on how payloads would compare and the same inputs give the same event order.
The core knows nothing about requests or models; `run.py` decides what each kind means.
"""

from __future__ import annotations

import heapq
import itertools
from typing import Any

Event = tuple[float, int, int, Any]


class EventQueue:
    """A time-ordered queue of events; `pop` returns the earliest, first-scheduled first on a tie."""

    __slots__ = ("_heap", "_sequence", "now", "processed")

    def __init__(self) -> None:
        self._heap: list[Event] = []
        self._sequence = itertools.count()
        self.now = 0.0
        self.processed = 0

    def __len__(self) -> int:
        return len(self._heap)

    def schedule(self, at: float, kind: int, payload: Any = None) -> None:
        """Schedule `kind` at absolute time `at`; an event in the past would break causality, so it is refused."""
        if at < self.now:
            raise ValueError(f"event at {at} is before the current time {self.now}")
        heapq.heappush(self._heap, (at, next(self._sequence), kind, payload))

    def pop(self) -> Event:
        event = heapq.heappop(self._heap)
        self.now = event[0]
        self.processed += 1
        return event
