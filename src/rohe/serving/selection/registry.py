"""Finding an EnsembleSearch by name: built-ins, then the `rohe.selection` entry points, then a dotted path.

Plugins are imported with importlib from installed packages only; sys.path is never touched.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from rohe.core.errors import InvalidInput, NotFound, Problem
from rohe.core.plugins import import_dotted
from rohe.serving.selection.algorithms import NaiveEnumeration, RoheEnsemble, SingleBest
from rohe.serving.selection.base import EnsembleSearch

ENTRY_POINT_GROUP = "rohe.selection"

_BUILTINS: dict[str, Callable[[], EnsembleSearch]] = {
    RoheEnsemble.name: RoheEnsemble,
    NaiveEnumeration.name: NaiveEnumeration,
    SingleBest.name: SingleBest,
}


def available() -> list[str]:
    plugins = [ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)]
    return sorted({*_BUILTINS, *plugins})


def _instantiate(obj: Any, where: str) -> EnsembleSearch:
    not_a_search = InvalidInput(
        "not an ensemble search",
        [Problem(where, f"{obj!r} has no 'name' and 'search(contract, catalog)'", "implement EnsembleSearch")],
    )
    instance = obj
    # A class or a factory function is called once without arguments; an instance is used as it is.
    if isinstance(obj, type) and not hasattr(obj, "search"):
        raise not_a_search
    if isinstance(obj, type) or (callable(obj) and not hasattr(obj, "search")):
        try:
            instance = obj()
        except TypeError:
            raise not_a_search from None
    if not isinstance(instance, EnsembleSearch):
        raise not_a_search
    return instance


def get_search(name: str) -> EnsembleSearch:
    """`rohe-ensemble`, an entry-point name, or `package.module:attr` / `package.module.attr`."""
    if name in _BUILTINS:
        return _BUILTINS[name]()
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            return _instantiate(ep.load(), f"entry point {name}")
    plugin = import_dotted(name, "algorithm")
    if plugin is not None:
        return _instantiate(plugin, name)
    raise NotFound(
        "unknown selection algorithm",
        [Problem("algorithm", f"{name!r} is not known", f"use one of: {', '.join(available())}, or a dotted path")],
    )
