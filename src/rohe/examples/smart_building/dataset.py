"""The smart-building example's two modalities of one activity: an IMU stream and a short camera clip.

Activities (class ids): 0 standing, 1 walking, 2 running, 3 badminton - BasicMotions' four classes.

Time series (`timeseries` modality): 6 channels (3-axis accelerometer, 3-axis gyroscope) x 100 steps,
sent flattened channel by channel (600 numbers).
- With the `aeon` extra installed, the real BasicMotions data set that aeon ships inside its wheel
  (40 train / 40 test recordings of a smart watch, 10 Hz) is used.
- Without it, a seeded generator of the same shape stands in: standing is sensor noise around gravity,
  walking a ~1.5 Hz gait, running a faster and larger one, badminton irregular swings (bursts); every
  recording gets its own amplitude, phase, frequency jitter and noise. The docs say which one ran.

Video (`video` modality): 4 grey frames of 12 x 12 pixels (576 numbers, frame by frame, row by row),
generated for every recording: a person-sized blob that stays (standing), drifts one pixel a frame
(walking), two to three pixels a frame (running) or stays while a small racket blob swings around it
(badminton), over noise. It is paired with the recording of the same activity, so both modalities of a
request agree on the ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

CLASS_NAMES: dict[int, str] = {0: "standing", 1: "walking", 2: "running", 3: "badminton"}
CHANNELS, STEPS = 6, 100
FRAMES, SIDE = 4, 12
SERIES_SIZE, VIDEO_SIZE = CHANNELS * STEPS, FRAMES * SIDE * SIDE
DATA_SEED = 5

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class Split:
    series: FloatArray  # (n, CHANNELS, STEPS)
    video: FloatArray  # (n, FRAMES, SIDE, SIDE)
    labels: IntArray

    def __len__(self) -> int:
        return int(self.labels.shape[0])


@dataclass(frozen=True)
class Dataset:
    train: Split
    test: Split
    source: str  # "aeon BasicMotions" or "generated"


def _generated_series(labels: IntArray, rng: np.random.Generator) -> FloatArray:
    t = np.arange(STEPS) / 10.0  # 10 Hz, like BasicMotions
    out = np.empty((len(labels), CHANNELS, STEPS))
    for i, label in enumerate(labels):
        phase = rng.uniform(0, 2 * np.pi, CHANNELS)
        gain = rng.uniform(0.7, 1.3, CHANNELS)
        if label == 0:
            signal = np.zeros((CHANNELS, STEPS))
        elif label in (1, 2):
            frequency = (1.5 if label == 1 else 2.1) * rng.uniform(0.85, 1.15)
            amplitude = 1.0 if label == 1 else 1.4
            signal = amplitude * np.sin(2 * np.pi * frequency * t[None, :] + phase[:, None])
        else:
            signal = np.zeros((CHANNELS, STEPS))
            for start in rng.choice(STEPS - 8, size=rng.integers(3, 6), replace=False):
                signal[:, start : start + 8] += rng.uniform(1.5, 3.0) * np.hanning(8)[None, :] * rng.choice([-1, 1])
        out[i] = gain[:, None] * signal + rng.normal(0, 1.3, (CHANNELS, STEPS))
    out[:, 2, :] += 1.0  # gravity on the vertical accelerometer axis
    return out


def _clips(labels: IntArray, rng: np.random.Generator) -> FloatArray:
    yy, xx = np.mgrid[0:SIDE, 0:SIDE]
    out = np.empty((len(labels), FRAMES, SIDE, SIDE))
    for i, label in enumerate(labels):
        x, y = rng.uniform(3, 9), rng.uniform(4, 8)
        speed = {0: 0.0, 1: 1.0, 2: rng.uniform(2.0, 3.0), 3: 0.0}[int(label)] * rng.choice([-1, 1])
        angle = rng.uniform(0, 2 * np.pi)
        for f in range(FRAMES):
            cx = (x + speed * f) % SIDE
            frame = np.exp(-((xx - cx) ** 2 / 3.0 + (yy - y) ** 2 / 6.0))
            if label == 3:
                a = angle + f * 1.4
                frame += 0.8 * np.exp(-((xx - cx - 3 * np.cos(a)) ** 2 + (yy - y - 3 * np.sin(a)) ** 2) / 1.0)
            out[i, f] = frame + rng.normal(0, 0.15, (SIDE, SIDE))
    return out


def _aeon_basic_motions() -> tuple[FloatArray, IntArray, FloatArray, IntArray] | None:
    try:
        from aeon.datasets import load_basic_motions  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    order = {"standing": 0, "walking": 1, "running": 2, "badminton": 3}
    parts = []
    for split in ("train", "test"):
        x, y = load_basic_motions(split=split)
        parts.append((np.asarray(x, dtype=np.float64), np.array([order[str(v).lower()] for v in y], dtype=np.int64)))
    return parts[0][0], parts[0][1], parts[1][0], parts[1][1]


def load_dataset(per_class: int = 60, *, use_aeon: bool = True) -> Dataset:
    """BasicMotions (aeon extra) or the generator with `per_class` recordings per class and split."""
    rng = np.random.default_rng(DATA_SEED)
    real = _aeon_basic_motions() if use_aeon else None
    if real is not None:
        train_x, train_y, test_x, test_y = real
        source = "aeon BasicMotions"
    else:
        train_y = np.repeat(np.arange(4, dtype=np.int64), per_class)
        test_y = np.repeat(np.arange(4, dtype=np.int64), max(10, per_class // 2))
        train_x, test_x = _generated_series(train_y, rng), _generated_series(test_y, rng)
        source = "generated"
    return Dataset(
        Split(train_x, _clips(train_y, rng), train_y), Split(test_x, _clips(test_y, rng), test_y), source
    )
