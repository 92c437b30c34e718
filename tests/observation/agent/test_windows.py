"""Window assignment by event time: every report in the right windows, once; late reports refused."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from observation.agent.support import request
from rohe.observation.agent.config import WindowSpec
from rohe.observation.agent.windows import WindowSet, from_micros, to_micros
from rohe.observation.metrics import WindowKind

times = st.lists(st.integers(min_value=0, max_value=120_000_000), min_size=1, max_size=60)


def _count(window_set: WindowSet, stamps: list[int]) -> dict[int, list[tuple[int, int]]]:
    """Feed reports in time order (closing windows as the watermark moves), then flush; report index -> windows."""
    reports = [request(0, f"r{i}") for i in range(len(stamps))]
    index = {id(r): i for i, r in enumerate(reports)}
    seen: dict[int, list[tuple[int, int]]] = {i: [] for i in range(len(stamps))}
    closed = []
    for report, micros in sorted(zip(reports, stamps, strict=True), key=lambda pair: pair[1]):
        assert window_set.add(report, micros)
        closed += window_set.advance(micros)
    closed += window_set.flush()
    for window in closed:
        for report in window.reports:
            seen[index[id(report)]].append((window.start_us, window.end_us))
    assert window_set.held == 0, "closing everything leaves nothing held"
    return seen


@settings(max_examples=60, deadline=None)
@given(stamps=times, size_ms=st.integers(min_value=1, max_value=20_000))
def test_tumbling_counts_every_report_exactly_once(stamps: list[int], size_ms: int) -> None:
    window_set = WindowSet([WindowSpec(size_s=size_ms / 1000)])
    for i, windows in _count(window_set, stamps).items():
        assert len(windows) == 1
        start, end = windows[0]
        assert start <= stamps[i] < end and end - start == size_ms * 1000


@settings(max_examples=60, deadline=None)
@given(
    stamps=times,
    step_ms=st.integers(min_value=1, max_value=5_000),
    ratio=st.integers(min_value=1, max_value=6),
    extra_ms=st.integers(min_value=0, max_value=999),
)
def test_sliding_counts_every_report_in_each_window_that_covers_it(
    stamps: list[int], step_ms: int, ratio: int, extra_ms: int
) -> None:
    size_ms = step_ms * ratio + (extra_ms % step_ms)
    window_set = WindowSet([WindowSpec(kind=WindowKind.SLIDING, size_s=size_ms / 1000, step_s=step_ms / 1000)])
    for i, windows in _count(window_set, stamps).items():
        assert len(set(windows)) == len(windows), "a window holds a report once"
        assert all(start <= stamps[i] < end for start, end in windows)
        expected = sum(
            1
            for k in range(-size_ms, stamps[i] // 1000 + 2)
            if k * step_ms * 1000 <= stamps[i] < k * step_ms * 1000 + size_ms * 1000
        )
        assert len(windows) == expected
        if size_ms % step_ms == 0:
            assert len(windows) == math.ceil(size_ms / step_ms)


def test_a_window_closes_when_the_watermark_passes_its_end_and_late_reports_are_refused() -> None:
    window_set = WindowSet([WindowSpec(size_s=10)])
    assert window_set.add(request(0, "a"), 1_000_000)
    assert window_set.advance(9_999_999) == []
    [closed] = window_set.advance(10_000_000)
    assert (closed.start_us, closed.end_us, len(closed.reports)) == (0, 10_000_000, 1)
    assert not window_set.add(request(0, "late"), 9_000_000), "its only window is final"
    assert window_set.add(request(0, "next"), 10_000_000)
    assert window_set.advance(10_000_000) == [], "a window is emitted once"


def test_sliding_report_late_for_old_windows_still_counts_in_open_ones() -> None:
    window_set = WindowSet([WindowSpec(kind=WindowKind.SLIDING, size_s=10, step_s=5)])
    window_set.add(request(0, "a"), 1_000_000)
    assert [w.end_us for w in window_set.advance(10_000_000)] == [5_000_000, 10_000_000]
    assert window_set.add(request(0, "b"), 6_000_000), "window [5, 15) is still open"
    [window] = window_set.advance(15_000_000)
    assert (window.start_us, len(window.reports)) == (5_000_000, 1)


@settings(max_examples=40, deadline=None)
@given(
    stamps=times,
    size_ms=st.integers(min_value=100, max_value=9_000),
    step_ms=st.integers(min_value=50, max_value=3_000),
)
def test_shapes_sharing_panes_give_the_same_windows_as_alone(stamps: list[int], size_ms: int, step_ms: int) -> None:
    specs = [
        WindowSpec(size_s=size_ms / 1000),
        WindowSpec(kind=WindowKind.SLIDING, size_s=(size_ms + step_ms) / 1000, step_s=step_ms / 1000),
    ]
    together = _count(WindowSet(specs), stamps)
    alone = [_count(WindowSet([spec]), stamps) for spec in specs]
    for i, windows in together.items():
        assert sorted(windows) == sorted(alone[0][i] + alone[1][i])


def test_memory_pressure_closes_the_oldest_windows_early() -> None:
    window_set = WindowSet([WindowSpec(size_s=10), WindowSpec(kind=WindowKind.SLIDING, size_s=20, step_s=10)])
    for second in (1, 2, 11, 12):
        window_set.add(request(0, f"r{second}"), second * 1_000_000)
    closed = window_set.close_oldest()
    assert [(w.kind, w.start_us, len(w.reports)) for w in closed] == [
        (WindowKind.SLIDING, -10_000_000, 2),
        (WindowKind.TUMBLING, 0, 2),
        (WindowKind.SLIDING, 0, 4),
    ]
    assert window_set.held == 2 and not window_set.add(request(0, "late"), 5_000_000)


def test_micros_round_trip_is_exact() -> None:
    moment = from_micros(1_767_225_600_123_457)
    assert to_micros(moment) == 1_767_225_600_123_457
    assert to_micros(moment.replace(tzinfo=None)) == 1_767_225_600_123_457, "naive timestamps are UTC"
