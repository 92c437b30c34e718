"""Types the smart-building tests share (conftest holds the fixture itself)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rohe.examples.smart_building.dataset import CLASS_NAMES, Dataset
from rohe.examples.smart_building.models import MODALITY_OF, TIMESERIES, VIDEO, TrainedMembers
from rohe.examples.workload import Workload

PER_CLASS = 25


@dataclass(frozen=True)
class TrainedSmartBuilding:
    data_dir: Path
    dataset: Dataset
    first: TrainedMembers

    def raw(self, modality: str) -> np.ndarray:
        test = self.dataset.test
        return (test.series if modality == TIMESERIES else test.video).reshape(len(test), -1)

    def workload(self, modality: str) -> Workload:
        predictors = {n: p for n, p in self.first.predictors().items() if MODALITY_OF[n] == modality}
        inputs = self.first.preprocessors[modality](self.raw(modality))
        return Workload(predictors, inputs, self.dataset.test.labels, dict(CLASS_NAMES))


MODALITIES = (TIMESERIES, VIDEO)
