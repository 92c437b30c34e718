"""Types the cctvs tests share (conftest holds the fixture itself)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rohe.examples.cctvs.models import TrainedDetectors
from rohe.examples.cctvs.scenes import CLASS_NAMES, Dataset
from rohe.examples.workload import Workload

TRAIN_SCENES, TEST_SCENES = 150, 30


@dataclass(frozen=True)
class TrainedCctvs:
    data_dir: Path
    dataset: Dataset
    first: TrainedDetectors

    def workload(self) -> Workload:
        x, y = self.dataset.test_patches
        return Workload(self.first.predictors(), self.first.scaler(x), y, dict(CLASS_NAMES))
