"""A small MiniRocket-family transform in NumPy, always available (aeon's MiniRocket is the optional extra).

Like MiniRocket: kernels of length 9 whose weights are -1 except three positions of 2 (so each sums to
zero), applied at several dilations to a random sum of channels; each (kernel, dilation) gets two biases
drawn from quantiles of its convolution output on training recordings, and the feature is the proportion
of positive values (PPV) of output minus bias. Unlike it: kernels are sampled (not all 84 enumerated),
convolutions are "valid" (no padding) and no channel-count weighting is applied. A ridge classifier on the
features is the model; its decision values go through a softmax to give class probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from sklearn.linear_model import RidgeClassifierCV  # type: ignore[import-untyped]
from sklearn.preprocessing import StandardScaler  # type: ignore[import-untyped]

FloatArray = NDArray[np.float64]
KERNEL_LENGTH = 9


@dataclass
class RandomKernelTransform:
    n_kernels: int
    dilations: tuple[int, ...]
    seed: int = 0
    weights: FloatArray = field(default_factory=lambda: np.empty((0, KERNEL_LENGTH)))
    channel_masks: FloatArray = field(default_factory=lambda: np.empty((0, 0)))
    biases: FloatArray = field(default_factory=lambda: np.empty((0, 0, 2)))

    def _convolve(self, x: FloatArray, kernel: int, dilation: int) -> FloatArray:
        combined = np.einsum("ncl,c->nl", x, self.channel_masks[kernel])
        span = (KERNEL_LENGTH - 1) * dilation
        length = combined.shape[1] - span
        out = np.zeros((x.shape[0], length))
        for tap in range(KERNEL_LENGTH):
            out += self.weights[kernel, tap] * combined[:, tap * dilation : tap * dilation + length]
        return out

    def fit(self, x: FloatArray) -> RandomKernelTransform:
        rng = np.random.default_rng(self.seed)
        channels = x.shape[1]
        self.weights = np.full((self.n_kernels, KERNEL_LENGTH), -1.0)
        for k in range(self.n_kernels):
            self.weights[k, rng.choice(KERNEL_LENGTH, 3, replace=False)] = 2.0
        self.channel_masks = np.zeros((self.n_kernels, channels))
        for k in range(self.n_kernels):
            self.channel_masks[k, rng.choice(channels, rng.integers(1, min(3, channels) + 1), replace=False)] = 1.0
        self.biases = np.zeros((self.n_kernels, len(self.dilations), 2))
        sample = x[rng.choice(len(x), min(len(x), 32), replace=False)]
        for k in range(self.n_kernels):
            for d, dilation in enumerate(self.dilations):
                self.biases[k, d] = np.quantile(self._convolve(sample, k, dilation), rng.uniform(0.1, 0.9, 2))
        return self

    def transform(self, x: FloatArray) -> FloatArray:
        features = []
        for k in range(self.n_kernels):
            for d, dilation in enumerate(self.dilations):
                output = self._convolve(x, k, dilation)
                for bias in self.biases[k, d]:
                    features.append((output > bias).mean(axis=1))
        return np.column_stack(features)


@dataclass
class RocketClassifier:
    """Transform, standardise, ridge; `predict_proba` is a softmax of the ridge decision values."""

    transform: RandomKernelTransform
    scaler: StandardScaler = field(default_factory=StandardScaler)
    ridge: RidgeClassifierCV = field(default_factory=lambda: RidgeClassifierCV(alphas=np.logspace(-3, 3, 10)))
    temperature: float = 0.25

    def fit(self, x: FloatArray, y: NDArray[np.int64]) -> RocketClassifier:
        features = self.transform.fit(x).transform(x)
        self.ridge.fit(self.scaler.fit_transform(features), y)
        return self

    @property
    def classes_(self) -> NDArray[np.int64]:
        return np.asarray(self.ridge.classes_, dtype=np.int64)

    def predict_proba(self, x: FloatArray) -> FloatArray:
        decision = np.asarray(self.ridge.decision_function(self.scaler.transform(self.transform.transform(x))))
        logits = decision / self.temperature
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True), dtype=np.float64)
