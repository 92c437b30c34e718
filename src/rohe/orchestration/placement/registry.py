"""Finding an algorithm by name: built-ins, then entry points in `rohe.placement`, then `module:Class`."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from rohe.core.config import OrchestrationSettings
from rohe.core.errors import InvalidInput, Problem
from rohe.core.plugins import import_dotted
from rohe.orchestration.placement.framework import FilterScoreAlgorithm, Select
from rohe.orchestration.placement.observed import observed_load_algorithm
from rohe.orchestration.placement.optimal import OptimalAlgorithm
from rohe.orchestration.placement.packing import PackingAlgorithm
from rohe.orchestration.placement.result import PlacementAlgorithm
from rohe.orchestration.placement.scores import BalancedAllocation, LeastAllocated, MostAllocated, RoheScore

ENTRY_POINT_GROUP = "rohe.placement"
SETTING = "orchestration.algorithm"

STRATEGY_SELECT: dict[str, Select] = {"first-fit": "first", "best-fit": "min", "worst-fit": "max"}


def _rohe_scoring(settings: OrchestrationSettings) -> PlacementAlgorithm:
    if settings.strategy == "pack":
        return PackingAlgorithm("rohe-scoring", RoheScore(settings), "min")
    return FilterScoreAlgorithm("rohe-scoring", RoheScore(settings), STRATEGY_SELECT[settings.strategy])


BUILTINS: dict[str, Callable[[OrchestrationSettings], PlacementAlgorithm]] = {
    "rohe-scoring": _rohe_scoring,
    "least-allocated": lambda s: FilterScoreAlgorithm("least-allocated", LeastAllocated(s.weights), "max"),
    "most-allocated": lambda s: FilterScoreAlgorithm("most-allocated", MostAllocated(s.weights), "max"),
    "balanced": lambda s: FilterScoreAlgorithm("balanced", BalancedAllocation(), "max"),
    "optimal": OptimalAlgorithm,
    # By name it has no observation snapshot (requested load only); the controller passes one per round.
    "observed-load": lambda s: observed_load_algorithm({}),
}


def available_algorithms() -> list[str]:
    """Built-in names first, then installed plugins."""
    plugins = sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name not in BUILTINS)
    return [*BUILTINS, *plugins]


def get_algorithm(name: str, settings: OrchestrationSettings | None = None) -> PlacementAlgorithm:
    settings = settings or OrchestrationSettings()
    builtin = BUILTINS.get(name)
    if builtin is not None:
        return builtin(settings)
    for entry in entry_points(group=ENTRY_POINT_GROUP, name=name):
        return _instantiate(entry.load(), name, settings)
    target = import_dotted(name, SETTING)
    if target is None:
        raise InvalidInput(
            f"unknown placement algorithm '{name}'",
            [
                Problem(
                    SETTING,
                    f"'{name}' is not a built-in algorithm, an entry point in '{ENTRY_POINT_GROUP}' "
                    "or an importable 'package.module:ClassName'",
                    f"use one of: {', '.join(available_algorithms())}",
                )
            ],
        )
    return _instantiate(target, name, settings)


def _instantiate(target: Any, name: str, settings: OrchestrationSettings) -> PlacementAlgorithm:
    if not inspect.isclass(target):
        raise InvalidInput(
            f"placement plugin '{name}' is not a class",
            [Problem(SETTING, f"'{name}' resolves to {type(target).__name__}", "point it at a class")],
        )
    init_parameters = [
        p
        for p in inspect.signature(target.__init__).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ][1:]  # without self
    factory: Callable[..., Any] = target
    instance = factory(settings) if len(init_parameters) == 1 else factory()
    if not isinstance(instance, PlacementAlgorithm):
        raise InvalidInput(
            f"placement plugin '{name}' is not a placement algorithm",
            [Problem(SETTING, "it needs a `name` attribute and a `place(cluster, requests)` method", "")],
        )
    return instance
