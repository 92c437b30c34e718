"""Crafted window metrics for evaluation tests: state only what a test is about."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rohe.observation.metrics import LatencyStats, ModelStats, WindowMetrics

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
ROHE_CONTRACTS = Path(__file__).resolve().parents[3].parent / "shared" / "rohe-inputs" / "contracts"


def latency(p99: float, count: int = 100, p50: float | None = None) -> LatencyStats:
    median = p50 if p50 is not None else p99 / 2
    return LatencyStats(count=count, mean_ms=median, p50_ms=median, p95_ms=(median + p99) / 2, p99_ms=p99,
                        max_ms=p99 * 1.1)


def window(index: int = 0, size_s: float = 10.0, consumer: str = "tenant-a", requests: int = 200,
           p99: float = 100.0, **fields: Any) -> WindowMetrics:
    """A healthy window number `index` (consecutive, `size_s` long) unless fields say otherwise."""
    start = T0 + timedelta(seconds=index * size_s)
    values: dict[str, Any] = {
        "app": "vision", "run": "r1", "consumer": consumer, "start": start, "end": start + timedelta(seconds=size_s),
        "requests": requests, "throughput_rps": requests / size_s, "end_to_end": latency(p99, count=max(requests, 1)),
        "stages": {"scheduling": latency(2), "preprocessing": latency(10), "fanout": latency(p99 * 0.8),
                   "aggregation": latency(1)},
        "labelled": requests, "accuracy": 0.95, "confidence_mean": 0.9,
        "class_accuracy": {"1": 0.9, "6": 0.95}, "class_miss_rate": {"1": 0.1, "6": 0.05},
        "models": {"m1": ModelStats(requests=requests, latency=latency(p99 * 0.7), labelled=requests, accuracy=0.9),
                   "m2": ModelStats(requests=requests, latency=latency(p99 * 0.5), labelled=requests, accuracy=0.92)},
    }
    values.update(fields)
    return WindowMetrics(**values)
