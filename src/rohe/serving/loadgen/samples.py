"""The labelled inputs a load generator sends: raw samples with their ground truth.

A single-modality sample is sent as the gateway's `input` field. A multimodal app's sample is its
modalities' raw inputs concatenated; `split` turns one into the gateway's `inputs` field ({modality: values}),
and when it is given every request carries `inputs` instead of `input`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rohe.core.errors import InvalidInput, Problem


@dataclass(frozen=True)
class LabelledSamples:
    """`inputs[i]` (a flat list of numbers, as the gateway's `input` field takes it) has label `labels[i]`."""

    inputs: tuple[tuple[float, ...], ...]
    labels: tuple[int, ...]
    split: Callable[[Sequence[float]], dict[str, list[float]]] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not self.inputs or len(self.inputs) != len(self.labels):
            raise InvalidInput(
                "invalid labelled samples",
                [Problem("samples", f"{len(self.inputs)} inputs, {len(self.labels)} labels", "give one label each")],
            )

    def __len__(self) -> int:
        return len(self.labels)

    def request_fields(self, index: int) -> dict[str, Any]:
        """The request body's input field(s) for sample `index`: `input`, or `inputs` when split by modality."""
        sample = self.inputs[index]
        if self.split is None:
            return {"input": sample}
        return {"inputs": self.split(sample)}

    def with_split(self, split: Callable[[Sequence[float]], dict[str, list[float]]]) -> LabelledSamples:
        """The same samples, sent as `inputs` ({modality: values}) made by `split`."""
        return LabelledSamples(self.inputs, self.labels, split)

    @classmethod
    def of(
        cls,
        inputs: NDArray[np.float64],
        labels: NDArray[np.int64],
        split: Callable[[Sequence[float]], dict[str, list[float]]] | None = None,
    ) -> LabelledSamples:
        # Converted to plain floats once, so building a request body costs no NumPy work per request.
        rows = np.asarray(inputs, dtype=np.float64)
        return cls(tuple(tuple(float(x) for x in row) for row in rows), tuple(int(y) for y in labels), split)

