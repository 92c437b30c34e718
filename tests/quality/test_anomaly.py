"""Tier 2 detectors: quiet on seeded noise, catch an injected step quickly; the monitor runs them over windows."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from observation.evaluation.builders import window
from rohe.quality import CUSUM, EWMA, AnomalyMonitor, Detector, IsolationForestDetector, RobustZScore

STEP_AT = 400


def stream(seed: int, length: int = 800, step: float = 0.0) -> list[float]:
    """Latency-like noise around 100 ms (sd 5) with an optional level shift of `step` sd at STEP_AT."""
    rng = np.random.default_rng(seed)
    values = 100 + 5 * rng.standard_normal(length)
    values[STEP_AT:] += step * 5
    return [float(v) for v in values]


def flags(detector: Detector, values: list[float]) -> list[int]:
    return [i for i, v in enumerate(values) if detector.update(v).anomalous]


FACTORIES: dict[str, Callable[[], Detector]] = {
    "robust-z": RobustZScore,
    "ewma": EWMA,
    "cusum": CUSUM,
    "isolation-forest": lambda: IsolationForestDetector(seed=3),
}


@pytest.mark.parametrize("name", FACTORIES)
def test_quiet_on_stable_noise(name: str) -> None:
    false_positives = sum(len(flags(FACTORIES[name](), stream(seed))) for seed in range(3))
    limit = {"robust-z": 2, "ewma": 2, "cusum": 2, "isolation-forest": 12}[name]  # of 2400 values
    assert false_positives <= limit


@pytest.mark.parametrize("name", FACTORIES)
def test_catches_a_step_within_a_few_values(name: str) -> None:
    found = [i for i in flags(FACTORIES[name](), stream(seed=11, step=8.0)) if i >= STEP_AT]
    assert found, f"{name} missed an 8-sigma level shift"
    assert found[0] - STEP_AT <= 3


def test_cusum_catches_a_sustained_shift_no_single_value_reveals() -> None:
    values = stream(seed=4, step=2.5)
    assert [i for i in flags(RobustZScore(), values) if STEP_AT <= i < STEP_AT + 20] == []
    found = [i for i in flags(CUSUM(), values) if i >= STEP_AT]
    assert found and found[0] - STEP_AT <= 10


def test_a_flat_stream_still_flags_a_jump() -> None:
    detector = RobustZScore()
    assert flags(detector, [50.0] * 30 + [80.0]) == [30]


def test_detectors_are_deterministic() -> None:
    values = stream(seed=5, step=6.0)
    assert flags(IsolationForestDetector(seed=1), values) == flags(IsolationForestDetector(seed=1), values)


def test_monitor_tracks_each_consumer_and_metric_separately() -> None:
    monitor = AnomalyMonitor(["end_to_end.p99_ms", "models.m1.accuracy"], {"robust-z": RobustZScore, "ewma": EWMA})
    latencies = stream(seed=2, length=40)
    for i, value in enumerate(latencies):
        assert monitor.observe(window(i, p99=value)) == []
        assert monitor.observe(window(i, consumer="b", p99=value * 10)) == []
    found = monitor.observe(window(40, p99=400.0))
    assert {(a.consumer, a.metric, a.detector, a.direction) for a in found} == {
        ("tenant-a", "end_to_end.p99_ms", "robust-z", "high"), ("tenant-a", "end_to_end.p99_ms", "ewma", "high")}
