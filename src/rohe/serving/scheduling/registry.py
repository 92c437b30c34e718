"""Finding a RequestScheduler by name: built-ins, then `rohe.scheduling` entry points, then a dotted path.

Plugins come from installed packages through importlib; sys.path is left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points

from rohe.core.errors import InvalidInput, NotFound, Problem
from rohe.core.plugins import import_dotted
from rohe.serving.scheduling.algorithms import Adaptive, Dream, LeastLaxityFirst
from rohe.serving.scheduling.base import RequestScheduler
from rohe.serving.scheduling.baselines import AllModels, Fastest, Oracle, RandomSubset, SingleBest
from rohe.serving.scheduling.selected import SelectedEnsemble

ENTRY_POINT_GROUP = "rohe.scheduling"

_BUILTINS: dict[str, Callable[[], RequestScheduler]] = {
    cls.name: cls for cls in (Adaptive, Dream, LeastLaxityFirst, SingleBest, Fastest, AllModels, RandomSubset, Oracle)
}
# The published per-consumer selection, served request by request (see scheduling/selected.py).
_BUILTINS["rohe-ensemble"] = SelectedEnsemble


def available_schedulers() -> list[str]:
    return sorted({*_BUILTINS, *(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))})


def _as_scheduler(obj: object, where: str) -> RequestScheduler:
    wrong = InvalidInput(
        "not a request scheduler",
        [Problem(where, f"{obj!r} has no 'name' and 'plan(request)'", "implement RequestScheduler")],
    )
    candidate = obj
    # Classes and zero-argument factories are called once; a ready instance is used as is.
    if isinstance(obj, type) or (callable(obj) and not isinstance(obj, RequestScheduler)):
        try:
            candidate = obj()
        except TypeError:
            raise wrong from None
    if isinstance(candidate, type) or not isinstance(candidate, RequestScheduler):
        raise wrong
    return candidate


def get_scheduler(name: str) -> RequestScheduler:
    """A built-in name, an entry-point name, or `package.module:attr` / `package.module.attr`."""
    if name in _BUILTINS:
        return _BUILTINS[name]()
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            return _as_scheduler(ep.load(), f"scheduler entry point {name}")
    plugin = import_dotted(name, "scheduler")
    if plugin is not None:
        return _as_scheduler(plugin, f"scheduler {name}")
    raise NotFound(
        "unknown scheduler",
        [Problem("scheduler", f"{name!r} is not known", f"use one of: {', '.join(available_schedulers())}")],
    )
