"""Finding an algorithm by name: built-ins, then entry points in `rohe.placement`, then `module:Class`."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from rohe.core.config import OrchestrationSettings
from rohe.core.errors import InvalidInput, Problem
from rohe.orchestration.placement.framework import FilterScoreAlgorithm, Select
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
    target = _import_dotted(name)
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


def _import_dotted(path: str) -> Any | None:
    """`package.module:ClassName` or `package.module.ClassName`; None if it names nothing importable."""
    if ":" in path:
        module_name, _, attribute = path.partition(":")
    else:
        module_name, _, attribute = path.rpartition(".")
    if not module_name or not attribute:
        return None
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        # only "no such module" means "not a plugin path"; a plugin failing its own imports is reported
        if isinstance(exc, ModuleNotFoundError) and exc.name is not None and module_name.startswith(exc.name):
            return None
        raise InvalidInput(
            f"placement plugin '{path}' failed to import",
            [Problem(SETTING, str(exc), "fix the plugin module or its dependencies")],
        ) from None
    return getattr(module, attribute, None)


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
