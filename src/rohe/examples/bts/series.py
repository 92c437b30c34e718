"""The bts example's data: an hourly building / base-station energy series, its windows and its bins.

The series is generated (nothing is downloaded): hourly consumption in kWh with a daily cycle (a daytime
plateau), a weekly cycle (weekends at 55 % of weekdays), a slow trend, an AR(1) weather-driven drift,
Gaussian sensor noise and anomalies
(about 1 % of the hours: spikes of +0.8..1.6 kWh or sensor drop-outs reading 0). It is seeded, so every
machine trains and measures on the same numbers.

A sample is the last `WINDOW` hourly readings (one week, oldest first, in kWh); its target is the next
hour's reading. The split is chronological (the test weeks come after the training weeks), as forecasting
demands.

The serving path is classification-shaped (probability vectors over class ids), so a forecast travels as a
probability vector over `N_BINS` energy bins of `BIN_KWH`: a point forecast is split between the two bin
centres around it in proportion to its distance (`two_hot`), so the expectation of the vector is the
forecast exactly and a (weighted) mean of members' vectors decodes (`decode`) to the (weighted) mean of
their forecasts. A forecast's class is its nearest bin, a label is the bin of the actual reading, so
"accuracy" of a forecaster is the share of forecasts that land in the actual value's bin: within one bin
width of it (half a bin on average).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rohe.core.errors import InvalidInput, Problem

WINDOW = 168  # one week of hourly readings
BIN_KWH = 0.25
N_BINS = 16  # 0 .. 4 kWh
SERIES_SEED = 11
DEFAULT_WEEKS = 20
TEST_FRACTION = 0.3

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

CLASS_NAMES: dict[int, str] = {k: f"{k * BIN_KWH:.1f}-{(k + 1) * BIN_KWH:.1f} kWh" for k in range(N_BINS)}


def building_load(weeks: int = DEFAULT_WEEKS, seed: int = SERIES_SEED) -> FloatArray:
    """`weeks` x 168 hourly readings in kWh (see the module docstring for the components)."""
    rng = np.random.default_rng(seed)
    hours = np.arange(weeks * 168)
    hour_of_day, day_of_week = hours % 24, (hours // 24) % 7
    daytime = 1.0 / (1.0 + np.exp(-(hour_of_day - 7.5) * 1.5)) - 1.0 / (1.0 + np.exp(-(hour_of_day - 18.5) * 1.5))
    weekday = np.where(day_of_week < 5, 1.0, 0.55)
    trend = 0.15 * hours / max(1, len(hours))
    weather = np.zeros(len(hours))  # an AR(1) drift (heating / cooling demand): only recent lags see it
    shocks = rng.normal(0.0, 0.035, len(hours))
    for t in range(1, len(hours)):
        weather[t] = 0.95 * weather[t - 1] + shocks[t]
    load = 0.9 + trend + weather + 1.4 * daytime * weekday + rng.normal(0.0, 0.03, len(hours))
    anomalies = rng.random(len(hours)) < 0.01
    spikes = anomalies & (rng.random(len(hours)) < 0.7)
    load = np.where(spikes, load + rng.uniform(0.8, 1.6, len(hours)), load)
    load = np.where(anomalies & ~spikes, 0.0, load)
    return np.clip(load, 0.0, N_BINS * BIN_KWH - 1e-6)


@dataclass(frozen=True)
class Split:
    """Raw windows (kWh, oldest first) and the next reading after each."""

    windows: FloatArray
    targets: FloatArray

    @property
    def labels(self) -> IntArray:
        return bin_of(self.targets)

    def __len__(self) -> int:
        return int(self.targets.shape[0])


@dataclass(frozen=True)
class Dataset:
    train: Split
    test: Split


def windows(series: FloatArray) -> tuple[FloatArray, FloatArray]:
    view = np.lib.stride_tricks.sliding_window_view(series[:-1], WINDOW)
    return np.ascontiguousarray(view, dtype=np.float64), np.asarray(series[WINDOW:], dtype=np.float64)


def load_dataset(weeks: int = DEFAULT_WEEKS) -> Dataset:
    x, y = windows(building_load(weeks))
    cut = int(len(y) * (1 - TEST_FRACTION))
    return Dataset(Split(x[:cut], y[:cut]), Split(x[cut:], y[cut:]))


def bin_of(kwh: FloatArray) -> IntArray:
    return np.clip(np.floor(np.asarray(kwh) / BIN_KWH), 0, N_BINS - 1).astype(np.int64)


def centres() -> FloatArray:
    return np.asarray((np.arange(N_BINS) + 0.5) * BIN_KWH, dtype=np.float64)


def two_hot(forecasts: FloatArray) -> FloatArray:
    """(n,) forecasts in kWh -> (n, N_BINS) vectors whose expectation over bin centres is the forecast."""
    position = np.clip(np.asarray(forecasts, dtype=np.float64) / BIN_KWH - 0.5, 0.0, N_BINS - 1.0)
    lower = np.minimum(np.floor(position).astype(np.int64), N_BINS - 2)
    upper_share = position - lower
    out = np.zeros((len(position), N_BINS))
    rows = np.arange(len(position))
    out[rows, lower] = 1.0 - upper_share
    out[rows, lower + 1] += upper_share
    return out


def decode(probabilities: FloatArray) -> FloatArray:
    """Probability vectors over the bins -> forecasts in kWh (their expectation over the bin centres)."""
    p = np.atleast_2d(np.asarray(probabilities, dtype=np.float64))
    forecasts: FloatArray = (p @ centres()) / p.sum(axis=1)
    return forecasts


def check_window(sample: FloatArray) -> FloatArray:
    array = np.asarray(sample, dtype=np.float64)
    if array.ndim == 1:
        array = array.reshape(1, -1)
    if array.ndim != 2 or array.shape[1] != WINDOW or not np.isfinite(array).all():
        raise InvalidInput(
            "wrong input for the bts forecasters",
            [
                Problem(
                    "input",
                    f"got shape {list(array.shape)}" + ("" if np.isfinite(array).all() else " with non-finite values"),
                    f"give the last {WINDOW} hourly readings in kWh, oldest first",
                )
            ],
        )
    return array
