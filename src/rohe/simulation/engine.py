"""The discrete-event core: a binary heap of (time, sequence, kind, payload) events, merged with a sorted
stream of arrivals that never enters the heap.

Events at the same time leave in the order they were scheduled (the sequence number breaks every tie),
so a run never depends on how payloads would compare and the same inputs give the same event order. An
arrival goes after heap events at the same instant (a failure or a completion at t is seen by an arrival
at t). The core knows nothing about requests or models;
`run.py` decides what each kind means.
"""

from __future__ import annotations

import heapq
import itertools
from typing import Any

Event = tuple[float, int, int, Any]


class EventQueue:
    """A time-ordered queue of events; `pop` returns the earliest, first-scheduled first on a tie."""

    # `heap` and `sequence` are public so the simulation's hottest path can push without a method call.
    __slots__ = ("heap", "now", "processed", "sequence")

    def __init__(self) -> None:
        self.heap: list[Event] = []
        self.sequence = itertools.count()
        self.now = 0.0
        self.processed = 0

    def __len__(self) -> int:
        return len(self.heap)

    def schedule(self, at: float, kind: int, payload: Any = None) -> None:
        """Schedule `kind` at absolute time `at`; an event in the past would break causality, so it is refused."""
        if at < self.now:
            raise ValueError(f"event at {at} is before the current time {self.now}")
        heapq.heappush(self.heap, (at, next(self.sequence), kind, payload))

    def after(self, delay: float, kind: int, payload: Any = None) -> None:
        """Schedule `kind` `delay` (>= 0, unchecked: the hot path) seconds after the current time."""
        heapq.heappush(self.heap, (self.now + delay, next(self.sequence), kind, payload))

    def next_time(self) -> float:
        return self.heap[0][0] if self.heap else float("inf")

    def pop(self) -> Event:
        event = heapq.heappop(self.heap)
        self.now = event[0]
        self.processed += 1
        return event

    def advance(self, now: float) -> None:
        """Move the clock to an arrival taken from the stream outside the heap (counted as an event)."""
        self.now = now
        self.processed += 1
