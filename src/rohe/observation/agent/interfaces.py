"""What an observation agent writes to (its sink, window listeners, clock tickers) and the counters it shows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from rohe.observation.metrics import WindowMetrics


class WindowSink(Protocol):
    def save_windows(self, windows: Sequence[WindowMetrics]) -> None: ...
    def load_agent_state(self, app: str, run: str) -> dict[str, Any] | None: ...
    def save_agent_state(self, app: str, run: str, state: dict[str, Any]) -> None: ...


WindowListener = Callable[[WindowMetrics], None]
# Called with the wall clock on every agent tick (about once a second): what only the clock reveals, such as a
# consumer that stopped sending and so gets no windows at all.
Ticker = Callable[[datetime], None]


@dataclass(frozen=True)
class AgentStats:
    received: int  # reports handed to the agent, duplicates included
    malformed: int  # messages that could not be decoded
    duplicates: int
    late_dropped: int  # reports whose windows were all final already
    future_dropped: int  # reports stamped more than max_future_s ahead of the agent's clock
    foreign_dropped: int  # reports of another app or run than the agent's
    rejected: int  # bad reports dropped from otherwise readable batches
    windows_emitted: int
    feedback_unmatched: int  # ground truth for a request the agent does not remember
    plugin_errors: int
    sink_errors: int
    listener_errors: int  # window listeners and tickers that raised
    open_reports: int  # reports held in open windows
    unacked: int  # received messages not yet acknowledged to the broker (waiting for a checkpoint)
