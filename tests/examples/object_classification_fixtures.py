"""Types and constants the example tests share (conftest holds the fixtures themselves)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rohe.examples.object_classification import TrainedModels

# A nominal price per replica-second, in the range the example contracts expect.
PRICE_PER_SECOND = 0.0001


@dataclass(frozen=True)
class TrainedExample:
    """The session's data dir and what the first (training) call returned."""

    data_dir: Path
    first: TrainedModels
