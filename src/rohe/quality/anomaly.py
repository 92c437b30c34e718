"""Tier 2: streaming anomaly detectors over one metric stream, and a listener running them over windows.

* `RobustZScore`: distance from the median of the last `history` values in units of MAD (x 1.4826, the
  normal-consistent scale); robust to the outliers it is looking for.
* `EWMA`: distance from an exponentially weighted mean in units of the exponentially weighted standard
  deviation; reacts to level shifts within a few values, adapts to slow drift.
* `CUSUM`: accumulated excess of MAD-standardised values beyond a slack; catches sustained shifts of a few
  sd that no single value reveals.
* `IsolationForestDetector`: scikit-learn's IsolationForest on (value, change) pairs of the recent history,
  refitted every `refit_every` values (scores tabulated on a grid per fit); flags values scoring `margin`
  below the `quantile` of its training scores. Its score saturates outside the training range, so it sees
  the first value of a shift (the change feature) rather than the new level: a weak step detector, kept as
  the multivariate-capable baseline.

Every detector is stateful and sees each value once (`update`); it scores a value against what came before
it, then learns from it. Nothing is flagged before `warmup` values.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import numpy as np
import numpy.typing as npt

from rohe.observation.metrics import WindowMetrics
from rohe.quality.series import MetricReader, metric_reader

_MAD_SCALE = 1.4826  # MAD x this estimates sigma for normal data


@dataclass(frozen=True)
class Score:
    value: float
    score: float  # signed; |score| > threshold is anomalous (IsolationForest: how far below its cut-off)
    anomalous: bool


class Detector(Protocol):
    name: str

    def update(self, value: float) -> Score: ...


class RobustZScore:
    name = "robust-z"

    def __init__(self, history: int = 60, threshold: float = 5.0, warmup: int = 10, min_scale: float = 1e-9) -> None:
        self.threshold, self.warmup, self.min_scale = threshold, warmup, min_scale
        self._values: deque[float] = deque(maxlen=history)

    def update(self, value: float) -> Score:
        score = 0.0
        if len(self._values) >= self.warmup:
            past = np.fromiter(self._values, dtype=np.float64)
            median = float(np.median(past))
            scale = _MAD_SCALE * float(np.median(np.abs(past - median)))
            if scale < self.min_scale:
                # A flat history has MAD 0: fall back on the mean absolute deviation, then on a tiny floor,
                # so a constant stream still flags a real jump without dividing by zero.
                scale = max(1.2533 * float(np.mean(np.abs(past - median))), self.min_scale)
            score = (value - median) / scale
        self._values.append(value)
        return Score(value, score, abs(score) > self.threshold)


class EWMA:
    name = "ewma"

    def __init__(self, alpha: float = 0.1, threshold: float = 5.0, warmup: int = 10, min_std: float = 1e-9) -> None:
        if not 0 < alpha <= 1:
            raise ValueError("alpha must be in (0, 1]")
        self.alpha, self.threshold, self.warmup, self.min_std = alpha, threshold, warmup, min_std
        self._mean: float | None = None
        self._var = 0.0
        self._seen = 0

    def update(self, value: float) -> Score:
        score = 0.0
        if self._mean is None:
            self._mean = value
        else:
            if self._seen >= self.warmup:
                score = (value - self._mean) / max(math.sqrt(self._var), self.min_std)
            delta = value - self._mean
            self._mean += self.alpha * delta
            self._var = (1 - self.alpha) * (self._var + self.alpha * delta * delta)
        self._seen += 1
        return Score(value, score, abs(score) > self.threshold)


class CUSUM:
    """Two-sided CUSUM on values standardised by the median / MAD of the recent history.

    Point detectors flag a value far from normal; a sustained shift of a few sd is not far enough for any
    single value, but its standardised excess (beyond `slack` sd) accumulates here until it passes
    `threshold`. The sums restart after an alarm, so a lasting shift alarms again until the history adapts.
    """

    name = "cusum"

    def __init__(self, history: int = 60, slack: float = 0.5, threshold: float = 10.0, warmup: int = 10,
                 min_scale: float = 1e-9) -> None:
        self.slack, self.threshold, self.warmup, self.min_scale = slack, threshold, warmup, min_scale
        self._values: deque[float] = deque(maxlen=history)
        self._high = self._low = 0.0

    def update(self, value: float) -> Score:
        score, anomalous = 0.0, False
        if len(self._values) >= self.warmup:
            past = np.fromiter(self._values, dtype=np.float64)
            median = float(np.median(past))
            scale = max(_MAD_SCALE * float(np.median(np.abs(past - median))), self.min_scale)
            z = (value - median) / scale
            self._high = max(0.0, self._high + z - self.slack)
            self._low = max(0.0, self._low - z - self.slack)
            score = self._high if self._high >= self._low else -self._low
            anomalous = abs(score) > self.threshold
            if anomalous:
                self._high = self._low = 0.0
        self._values.append(value)
        return Score(value, score, anomalous)


class IsolationForestDetector:
    name = "isolation-forest"

    def __init__(self, history: int = 200, warmup: int = 50, refit_every: int = 200, quantile: float = 0.002,
                 margin: float = 0.05, grid: int = 96, seed: int = 0) -> None:
        self.warmup, self.refit_every, self.quantile, self.seed = warmup, refit_every, quantile, seed
        self.margin, self.grid = margin, grid
        self._values: deque[float] = deque(maxlen=history)
        self._axes: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None = None
        self._table: npt.NDArray[np.float64] = np.zeros((1, 1))
        self._cutoff = 0.0
        self._since_fit = 0

    @staticmethod
    def _features(values: Sequence[float]) -> npt.NDArray[np.float64]:
        array = np.asarray(values, dtype=np.float64)
        change = np.diff(array, prepend=array[0])
        return np.column_stack([array, change])

    def _fit(self) -> None:
        # Imported on first use: scikit-learn is slow to import and only this detector needs it.
        from sklearn.ensemble import IsolationForest  # type: ignore[import-untyped]

        features = self._features(list(self._values))
        model = IsolationForest(n_estimators=50, random_state=self.seed).fit(features)
        self._cutoff = float(np.quantile(model.score_samples(features), self.quantile))
        # Scoring one value through scikit-learn costs milliseconds; a forest's score is piecewise constant and
        # flat beyond the training range, so it is tabulated once per fit on a grid that spans the training data
        # with a margin, and later values are looked up (clamped to the grid edge).
        axes = []
        for column in features.T:
            low, high = float(column.min()), float(column.max())
            pad = max(high - low, 1e-9)
            axes.append(np.linspace(low - pad, high + pad, self.grid))
        mesh = np.stack(np.meshgrid(axes[0], axes[1], indexing="ij"), axis=-1).reshape(-1, 2)
        self._table = np.asarray(model.score_samples(mesh), dtype=np.float64).reshape(self.grid, self.grid)
        self._axes = (axes[0], axes[1])
        self._since_fit = 0

    def _lookup(self, value: float, change: float) -> float:
        assert self._axes is not None
        i = int(np.clip(np.searchsorted(self._axes[0], value), 0, self.grid - 1))
        j = int(np.clip(np.searchsorted(self._axes[1], change), 0, self.grid - 1))
        return float(self._table[i, j])

    def update(self, value: float) -> Score:
        score, anomalous = 0.0, False
        if len(self._values) >= self.warmup:
            if self._axes is None or self._since_fit >= self.refit_every:
                self._fit()
            raw = self._lookup(value, value - self._values[-1])
            score = self._cutoff - raw  # > 0: less normal than all but `quantile` of the training values
            # On noise the score crosses the cut-off by a few hundredths about once in 200 values; the margin
            # keeps those out (benchmarks/anomaly.py measures what it costs in missed shifts).
            anomalous = score > self.margin
        self._values.append(value)
        self._since_fit += 1
        return Score(value, score, anomalous)


DETECTORS: dict[str, Callable[[], Detector]] = {
    RobustZScore.name: RobustZScore,
    EWMA.name: EWMA,
    CUSUM.name: CUSUM,
    IsolationForestDetector.name: IsolationForestDetector,
}


@dataclass(frozen=True)
class Anomaly:
    app: str
    run: str
    consumer: str
    metric: str
    detector: str
    value: float
    score: float
    window_start: datetime
    window_end: datetime

    @property
    def direction(self) -> str:
        return "high" if self.score > 0 else "low"


@dataclass
class AnomalyMonitor:
    """A WindowListener running fresh detectors per (app, run, consumer, metric) over the chosen metrics."""

    metrics: Sequence[str]
    detectors: Mapping[str, Callable[[], Detector]] = field(default_factory=lambda: {"robust-z": RobustZScore})
    # Detectors for particular metrics, replacing `detectors` for them (an agent config names one per stream).
    per_metric: Mapping[str, Mapping[str, Callable[[], Detector]]] = field(default_factory=dict)
    on_anomaly: Callable[[Anomaly], None] | None = None
    recent: deque[Anomaly] = field(default_factory=lambda: deque(maxlen=1000))

    def __post_init__(self) -> None:
        self._readers: dict[str, MetricReader] = {
            m: metric_reader(m, f"metrics[{i}]") for i, m in enumerate(self.metrics)}
        self._state: dict[tuple[str, str, str, str, str], Detector] = {}

    def __call__(self, window: WindowMetrics) -> None:
        self.observe(window)

    def observe(self, window: WindowMetrics) -> list[Anomaly]:
        found = []
        for metric, read in self._readers.items():
            value = read(window)
            if value is None or not math.isfinite(value):
                continue
            for name, make in self.per_metric.get(metric, self.detectors).items():
                key = (window.app, window.run, window.consumer, metric, name)
                detector = self._state.get(key)
                if detector is None:
                    detector = self._state[key] = make()
                result = detector.update(value)
                if result.anomalous:
                    found.append(Anomaly(window.app, window.run, window.consumer, metric, name, value,
                                         result.score, window.start, window.end))
        self.recent.extend(found)
        if self.on_anomaly is not None:
            for anomaly in found:
                self.on_anomaly(anomaly)
        return found
