"""Window functions importable by dotted path (`observation.evaluation.plugins:top5_error_rate`) in agent tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rohe.core.contracts import load_contract
from rohe.observation.evaluation import contract_window_functions
from rohe.observation.reports import Report

from .builders import ROHE_CONTRACTS

_FUNCTIONS = contract_window_functions([load_contract(Path(ROHE_CONTRACTS) / "object_classification.yaml")])


def top5_error_rate(reports: Sequence[Report]) -> dict[str, float]:
    return _FUNCTIONS["top5_error_rate"](reports)
