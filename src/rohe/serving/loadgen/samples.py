"""The labelled inputs a load generator sends: raw samples with their ground truth."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rohe.core.errors import InvalidInput, Problem


@dataclass(frozen=True)
class LabelledSamples:
    """`inputs[i]` (a flat list of numbers, as the gateway's `input` field takes it) has label `labels[i]`."""

    inputs: tuple[tuple[float, ...], ...]
    labels: tuple[int, ...]

    def __post_init__(self) -> None:
        if not self.inputs or len(self.inputs) != len(self.labels):
            raise InvalidInput(
                "invalid labelled samples",
                [Problem("samples", f"{len(self.inputs)} inputs, {len(self.labels)} labels", "give one label each")],
            )

    def __len__(self) -> int:
        return len(self.labels)

    @classmethod
    def of(cls, inputs: NDArray[np.float64], labels: NDArray[np.int64]) -> LabelledSamples:
        # Converted to plain floats once, so building a request body costs no NumPy work per request.
        rows = np.asarray(inputs, dtype=np.float64)
        return cls(tuple(tuple(float(x) for x in row) for row in rows), tuple(int(y) for y in labels))

