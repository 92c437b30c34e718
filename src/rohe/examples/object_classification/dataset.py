"""The labelled data of the example and its preprocessing stage.

The data set is scikit-learn's bundled 8x8 handwritten digits (1,797 images, 10 classes), so nothing is
downloaded. The split is fixed (seeded and stratified) so every machine trains and measures on the same
samples, and profiles from different machines stay comparable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sklearn.datasets import load_digits  # type: ignore[import-untyped]
from sklearn.model_selection import train_test_split  # type: ignore[import-untyped]
from sklearn.preprocessing import StandardScaler  # type: ignore[import-untyped]

from rohe.core.errors import InvalidInput, Problem

SPLIT_SEED = 7
TEST_FRACTION = 0.25
VALIDATION_FRACTION = 0.2  # of what remains after the test split
CLASS_NAMES: dict[int, str] = {digit: f"digit-{digit}" for digit in range(10)}

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class Split:
    """Raw (unscaled) pixel features and their labels."""

    features: FloatArray
    labels: IntArray

    def __len__(self) -> int:
        return int(self.labels.shape[0])


@dataclass(frozen=True)
class Dataset:
    train: Split
    validation: Split
    test: Split
    class_names: dict[int, str]


def load_dataset() -> Dataset:
    """The fixed train / validation / test split of the digits."""
    features, labels = load_digits(return_X_y=True)
    features = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    rest_x, test_x, rest_y, test_y = train_test_split(
        features, labels, test_size=TEST_FRACTION, random_state=SPLIT_SEED, stratify=labels
    )
    train_x, val_x, train_y, val_y = train_test_split(
        rest_x, rest_y, test_size=VALIDATION_FRACTION, random_state=SPLIT_SEED, stratify=rest_y
    )
    return Dataset(Split(train_x, train_y), Split(val_x, val_y), Split(test_x, test_y), dict(CLASS_NAMES))


@dataclass(frozen=True)
class Preprocessor:
    """The preprocessing stage: standardise every pixel with the training set's mean and spread.

    It is separate from the models so the data plane can run it once per frame and fan the result out to
    every ensemble member, instead of each model service repeating it.
    """

    scaler: StandardScaler

    @property
    def n_features(self) -> int:
        return int(self.scaler.n_features_in_)

    def __call__(self, batch: FloatArray) -> FloatArray:
        return preprocess(self, batch)


def fit_preprocessor(train: Split) -> Preprocessor:
    return Preprocessor(StandardScaler().fit(train.features))


def preprocess(preprocessor: Preprocessor, batch: FloatArray) -> FloatArray:
    """Scale a (samples, features) batch; one sample may be given as a flat vector."""
    array = np.asarray(batch, dtype=np.float64)
    if array.ndim == 1:
        array = array.reshape(1, -1)
    if array.ndim != 2 or array.shape[1] != preprocessor.n_features:
        raise InvalidInput(
            "wrong input shape for preprocessing",
            [
                Problem(
                    "inputs",
                    f"got shape {list(array.shape)}",
                    f"give {preprocessor.n_features} pixel values (8x8 image, row by row) per sample",
                )
            ],
        )
    return np.asarray(preprocessor.scaler.transform(array), dtype=np.float64)
