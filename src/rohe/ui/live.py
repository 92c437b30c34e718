"""One computation of each console view at a time, shared by every page load and live stream.

A view of a large fleet costs seconds to build (10,000 replicas read and validated); building it once per open
tab per second would keep a core busy. `SharedViews.get` returns the last result while it is younger than
`max(ttl, time it took to build)`, and one lock per view makes concurrent callers wait for a single build. The
streams pace themselves the same way (`pause`): a view is rebuilt at most once per build time, so the console
keeps at most one worker busy half the time however many tabs are open.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

View = dict[str, Any]


@dataclass
class _Entry:
    lock: threading.Lock = field(default_factory=threading.Lock)
    value: View | None = None
    built_at: float = 0.0
    cost: float = 0.0


class SharedViews:
    def __init__(self, ttl: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._guard = threading.Lock()

    def _entry(self, key: str) -> _Entry:
        with self._guard:
            return self._entries.setdefault(key, _Entry())

    def get(self, key: str, build: Callable[[], View]) -> View:
        entry = self._entry(key)
        with entry.lock:
            if entry.value is not None and self._clock() - entry.built_at < max(self.ttl, entry.cost):
                return entry.value
            started = self._clock()
            entry.value = build()
            entry.built_at = self._clock()
            entry.cost = entry.built_at - started
            return entry.value

    def pause(self, key: str, interval: float) -> float:
        """Seconds a stream of `key` should wait before its next check."""
        return max(interval, self._entry(key).cost)
