"""Event-time windows: which reports fall in which window, and when a window is final.

Times are whole microseconds since the Unix epoch so window edges never suffer float rounding. Reports are kept
once, in panes of gcd(size, step); a window is the union of its panes, so a sliding window that overlaps nine
others does not hold nine copies of a report. A window is final once its end is at or before the horizon
(the watermark, or the end of the last flush): reports that only belong to final windows are late.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import reduce
from math import gcd
from typing import Any

from rohe.observation.agent.config import WindowSpec
from rohe.observation.metrics import WindowKind
from rohe.observation.reports import Report

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def to_micros(moment: datetime) -> int:
    """Exact microseconds since the epoch; a naive timestamp is taken as UTC (what probes send)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return (aware - EPOCH) // _MICROSECOND


def from_micros(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


class Pane:
    """Reports of one gcd(size, step) slice of time. `summary` lets the aggregator memoise its work on a pane
    that several sliding windows share; it is valid while `summary_size` equals the number of reports."""

    __slots__ = ("reports", "summary", "summary_size")

    def __init__(self) -> None:
        self.reports: list[Report] = []
        self.summary: Any = None
        self.summary_size = -1


@dataclass(frozen=True)
class ClosedWindow:
    kind: WindowKind
    start_us: int
    end_us: int
    panes: tuple[Pane, ...]

    @property
    def reports(self) -> list[Report]:
        return [r for pane in self.panes for r in pane.reports]

    @property
    def start(self) -> datetime:
        return from_micros(self.start_us)

    @property
    def end(self) -> datetime:
        return from_micros(self.end_us)


class Shape:
    """One window shape in whole microseconds, with its horizon: windows ending at or before it are final."""

    def __init__(self, spec: WindowSpec, horizon_us: int | None = None) -> None:
        self.spec = spec
        self.size = max(1, round(spec.size_s * 1_000_000))
        self.step = max(1, round(spec.step * 1_000_000))
        self.horizon = horizon_us

    def starts_containing(self, micros: int) -> range:
        """Starts of every window [s, s + size) that contains `micros`."""
        first = (micros - self.size) // self.step + 1
        last = micros // self.step
        return range(first * self.step, last * self.step + 1, self.step)

    def first_open_start(self) -> int | None:
        """Windows starting before this are all final (None: nothing is final yet)."""
        return None if self.horizon is None else ((self.horizon - self.size) // self.step + 1) * self.step


class WindowSet:
    """All open windows of the agent's shapes over one shared set of panes of gcd(all sizes and steps).

    Every pane lies wholly inside or outside any window of any shape, so a report is stored and summarised once
    however many shapes and overlapping windows count it. A report kept for one shape but late for another is
    harmless: the windows of the other shape that contain its pane are final and never read it.
    """

    def __init__(self, specs: Sequence[WindowSpec], horizons: Mapping[str, int | None] | None = None) -> None:
        self.shapes = [Shape(spec, (horizons or {}).get(spec.key)) for spec in specs]
        self.pane = reduce(gcd, [v for shape in self.shapes for v in (shape.size, shape.step)])
        self._panes: dict[int, Pane] = {}
        self.held = 0
        self._accept_from = self._first_open()

    def restore(self, horizons: Mapping[str, int | None]) -> None:
        """Take horizons saved by an earlier run: its final windows stay final."""
        for shape in self.shapes:
            shape.horizon = horizons.get(shape.spec.key)
        self._accept_from = self._first_open()

    def _first_open(self) -> int | None:
        """Earliest time some shape still has an open window for (None: every time is open somewhere)."""
        firsts = [shape.first_open_start() for shape in self.shapes]
        return None if any(first is None for first in firsts) else min(f for f in firsts if f is not None)

    @property
    def horizons(self) -> dict[str, int | None]:
        return {shape.spec.key: shape.horizon for shape in self.shapes}

    def add(self, report: Report, micros: int) -> bool:
        """Keep the report for its windows; False (and nothing kept) when all of them are already final."""
        # A time has an open window in a shape exactly when it is at or after that shape's first open start.
        if self._accept_from is not None and micros < self._accept_from:
            return False
        key = (micros // self.pane) * self.pane
        pane = self._panes.get(key)
        if pane is None:
            pane = self._panes[key] = Pane()
        pane.reports.append(report)
        self.held += 1
        return True

    def advance(self, watermark: int) -> list[ClosedWindow]:
        """Close every window ending at or before `watermark`, oldest first."""
        closed: list[ClosedWindow] = []
        for shape in self.shapes:
            if shape.horizon is not None and watermark <= shape.horizon:
                continue
            upcoming = self._next_end(shape)
            if upcoming is not None and upcoming <= watermark:
                closed += self._close(shape, until=watermark)
            shape.horizon = watermark
        return self._done(closed)

    def flush(self) -> list[ClosedWindow]:
        """Close every window that holds reports, whatever the watermark (shutdown)."""
        closed: list[ClosedWindow] = []
        for shape in self.shapes:
            mine = self._close(shape, until=None)
            if mine:
                last_end = mine[-1].end_us
                shape.horizon = last_end if shape.horizon is None else max(shape.horizon, last_end)
            closed += mine
        return self._done(closed)

    def close_oldest(self) -> list[ClosedWindow]:
        """Close, early, every window holding the oldest pane, so it can be dropped (memory pressure)."""
        if not self._panes:
            return []
        oldest = min(self._panes)
        closed: list[ClosedWindow] = []
        for shape in self.shapes:
            latest_end = shape.starts_containing(oldest)[-1] + shape.size
            if shape.horizon is None or latest_end > shape.horizon:
                closed += self._close(shape, until=latest_end)
                shape.horizon = latest_end
        return self._done(closed)

    def _next_end(self, shape: Shape) -> int | None:
        """End of the earliest window of `shape` that holds reports and is not final yet."""
        for pane in sorted(self._panes):
            for start in shape.starts_containing(pane):
                if shape.horizon is None or start + shape.size > shape.horizon:
                    return start + shape.size
        return None

    def open_reports(self) -> Iterator[Report]:
        for pane in self._panes.values():
            yield from pane.reports

    def _close(self, shape: Shape, until: int | None) -> list[ClosedWindow]:
        """Windows of `shape` holding reports, not final, and ending at or before `until` (None: any end)."""
        starts: set[int] = set()
        for pane in self._panes:
            for start in shape.starts_containing(pane):
                end = start + shape.size
                if (shape.horizon is None or end > shape.horizon) and (until is None or end <= until):
                    starts.add(start)
        if not starts:
            return []
        panes = sorted(self._panes)
        windows = []
        for start in sorted(starts):
            inside = tuple(self._panes[p] for p in panes if start <= p < start + shape.size)
            windows.append(ClosedWindow(shape.spec.kind, start, start + shape.size, inside))
        return windows

    def _done(self, closed: list[ClosedWindow]) -> list[ClosedWindow]:
        self._accept_from = keep_from = self._first_open()
        if keep_from is not None:
            # A pane before every shape's first open window is read by no window any more.
            for pane in [p for p in self._panes if p < keep_from]:
                self.held -= len(self._panes.pop(pane).reports)
        closed.sort(key=lambda w: (w.end_us, w.kind.value, w.start_us))
        return closed
