"""What measuring models needs: predictors and a labelled held-out set in the models' input form.

The examples build one (rohe.examples.workload); serving only consumes it, so the type lives here, below both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rohe.serving.model_service import Predictor


@dataclass(frozen=True)
class Workload:
    """Predictors and the held-out samples (already in the models' input form) with ground-truth labels.

    `trained` says whether loading the example had to train its models (the first run on a data dir).
    """

    predictors: dict[str, Predictor]
    inputs: NDArray[np.float64]
    labels: NDArray[np.int64]
    class_names: dict[int, str]
    trained: bool = False
