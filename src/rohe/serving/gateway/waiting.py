"""Which requests of each consumer are in the gateway right now, so `dream` can see how long the oldest one
has waited (its anti-starvation term) without a queue of its own."""

from __future__ import annotations

import itertools
import threading
import time
from collections import OrderedDict


class WaitingRequests:
    def __init__(self) -> None:
        # Insertion order is arrival order, so the first entry is always the oldest.
        self._arrivals: dict[str, OrderedDict[int, float]] = {}
        self._tokens = itertools.count()
        self._lock = threading.Lock()

    def enter(self, consumer: str) -> int:
        token = next(self._tokens)
        with self._lock:
            self._arrivals.setdefault(consumer, OrderedDict())[token] = time.monotonic()
        return token

    def leave(self, consumer: str, token: int) -> None:
        with self._lock:
            self._arrivals.get(consumer, OrderedDict()).pop(token, None)

    def oldest_ms(self, consumer: str, token: int) -> float:
        """Age of the consumer's oldest other request still in the gateway; 0 when this one is alone."""
        with self._lock:
            arrivals = self._arrivals.get(consumer)
            if not arrivals:
                return 0.0
            oldest_token, oldest = next(iter(arrivals.items()))
        if oldest_token == token:
            return 0.0
        return max(0.0, (time.monotonic() - oldest) * 1000)

    def in_flight(self, consumer: str) -> int:
        with self._lock:
            return len(self._arrivals.get(consumer, ()))
