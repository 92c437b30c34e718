"""Types the bts tests share (conftest holds the fixture itself)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rohe.examples.bts.models import TrainedForecasters
from rohe.examples.bts.series import CLASS_NAMES, Dataset
from rohe.examples.workload import Workload

WEEKS = 8


@dataclass(frozen=True)
class TrainedBts:
    data_dir: Path
    dataset: Dataset
    first: TrainedForecasters

    def workload(self) -> Workload:
        test = self.dataset.test
        return Workload(self.first.predictors(), self.first.scaler(test.windows), test.labels, dict(CLASS_NAMES))
