"""What `rohe profile` needs from an example: its models and a labelled set to measure them on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rohe.core.errors import NotFound, Problem
from rohe.serving.workload import Workload

if TYPE_CHECKING:  # the load generator pulls in aiohttp; example_samples imports it on use
    from rohe.serving.loadgen import LabelledSamples

__all__ = ["EXAMPLES", "Workload", "example_samples", "load_workload"]


def _object_classification(data_dir: Path) -> Workload:
    # Imported here so naming an example does not pay for scikit-learn until it is used.
    from rohe.examples.object_classification import object_classification_workload

    return object_classification_workload(data_dir)


def _registered(name: str) -> Callable[[Path], Workload]:
    def load(data_dir: Path) -> Workload:
        from rohe.examples.registry import example_app

        return example_app(name).workload(data_dir)

    return load


EXAMPLES: dict[str, Callable[[Path], Workload]] = {
    "object_classification": _object_classification,
    "bts": _registered("bts"),
    "cctvs": _registered("cctvs"),
    "smart_building": _registered("smart-building"),
}


def load_workload(example: str, data_dir: Path) -> Workload:
    """The named example's workload; `object-classification` and `object_classification` are the same."""
    key = example.strip().replace("-", "_")
    if key not in EXAMPLES:
        raise NotFound(
            "unknown example",
            [Problem("example", f"{example!r} is not an example", f"use one of: {', '.join(sorted(EXAMPLES))}")],
        )
    return EXAMPLES[key](data_dir)


def example_samples() -> LabelledSamples:
    """The object-classification example's held-out test split (raw pixels: the gateway preprocesses)."""
    from rohe.examples.object_classification import load_dataset  # scikit-learn only when used
    from rohe.serving.loadgen import LabelledSamples

    test = load_dataset().test
    return LabelledSamples.of(test.features, test.labels)
