"""Reading one named metric out of a window, so rules and detectors can treat windows as metric streams.

Names are the contract-clause vocabulary (`accuracy`, `response_time_p99_ms`, `missRateOfClass1`, ...) or
dotted paths into `WindowMetrics`: `end_to_end.p99_ms`, `stages.fanout.p99_ms`, `models.m1.accuracy`,
`resources.svc@node.cpu_max`, `custom.top5_error_rate`, `class_miss_rate.3`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from rohe.core.errors import InvalidInput, Problem
from rohe.observation.evaluation.clauses import builtin_metric
from rohe.observation.metrics import LatencyStats, ModelStats, ResourceStats, WindowMetrics

MetricReader = Callable[[WindowMetrics], float | None]
_MAPS = {"stages", "models", "resources", "custom", "class_accuracy", "class_miss_rate"}
_ENTRY_FIELDS: dict[str, set[str]] = {
    "models": set(ModelStats.model_fields),
    "stages": set(LatencyStats.model_fields),
    "resources": set(ResourceStats.model_fields),
}


def split_entry_path(head: str, rest: str) -> tuple[str, list[str]] | None:
    """`models`, `m1.latency.p99_ms` -> (`m1`, [`latency`, `p99_ms`]): the entry key may itself contain dots
    (service@node.domain), so it ends where the entry's field names begin."""
    parts = rest.split(".")
    for i in range(1, len(parts)):
        if parts[i] in _ENTRY_FIELDS.get(head, set()):
            return ".".join(parts[:i]), parts[i:]
    return None


def _walk(value: Any, parts: list[str]) -> float | None:
    for part in parts:
        if value is None:
            return None
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, BaseModel):
            if part not in type(value).model_fields:
                return None
            value = getattr(value, part)
        else:
            return None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def metric_reader(name: str, location: str = "metric") -> MetricReader:
    """A function reading `name` from a window (None when the window has no value for it)."""
    head, _, rest = name.partition(".")
    if head in _MAPS and rest:
        if head in ("custom", "class_accuracy", "class_miss_rate"):
            return lambda w: _walk(getattr(w, head), [rest])
        split = split_entry_path(head, rest)
        if split is None:
            fields = ", ".join(sorted(_ENTRY_FIELDS[head]))
            problem = Problem(location, f"{name!r} names a {head} entry but none of its fields",
                              f"end with one of: {fields}")
            raise InvalidInput("incomplete metric path", [problem])
        key, fields_path = split
        return lambda w: _walk(getattr(w, head).get(key), fields_path)
    if head in WindowMetrics.model_fields and head not in _MAPS:
        if head in ("app", "run", "consumer", "kind", "start", "end"):
            raise InvalidInput("not a numeric metric", [Problem(location, f"{name!r} is not a number", "")])
        return lambda w: _walk(w, name.split("."))
    if name == "availability":
        return lambda w: w.availability
    return builtin_metric(name, location).extract
