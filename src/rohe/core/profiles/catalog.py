"""A catalog of profiles with dense NumPy views (models x node types x metrics) for fast selection."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from rohe.core.errors import Conflict, InvalidInput, Problem
from rohe.core.profiles.model import ModelProfile

FloatArray = npt.NDArray[np.float64]


class Metric(IntEnum):
    """Column of `ProfileCatalog.values`; NaN marks an unknown value."""

    LATENCY_P50_MS = 0
    LATENCY_P95_MS = 1
    LATENCY_P99_MS = 2
    THROUGHPUT_RPS = 3
    ACCURACY = 4
    CONFIDENCE = 5
    COST_BASE = 6
    COST_PER_REQUEST = 7


_FIELD_OF = {
    Metric.LATENCY_P50_MS: "latency_p50_ms",
    Metric.LATENCY_P95_MS: "latency_p95_ms",
    Metric.LATENCY_P99_MS: "latency_p99_ms",
    Metric.THROUGHPUT_RPS: "throughput_rps",
    Metric.ACCURACY: "accuracy",
    Metric.CONFIDENCE: "confidence",
    Metric.COST_BASE: "cost_base",
    Metric.COST_PER_REQUEST: "cost_per_request",
}


@dataclass(frozen=True)
class ProfileCatalog:
    """Profiles indexed by (model, node type), plus the class vocabulary they report on.

    `values[m, n, metric]`, `class_accuracy[m, n, c]` and `class_confidence[m, n, c]` are computed once;
    model, node type and class order is the order given (first appearance), which is also the enumeration
    order selection uses to break ties.
    """

    profiles: tuple[ModelProfile, ...]
    classes: Mapping[int, str] = field(default_factory=dict)
    models: tuple[str, ...] = field(init=False)
    node_types: tuple[str, ...] = field(init=False)
    class_ids: tuple[int, ...] = field(init=False)
    values: FloatArray = field(init=False, repr=False)
    class_accuracy: FloatArray = field(init=False, repr=False)
    class_confidence: FloatArray = field(init=False, repr=False)
    available: npt.NDArray[np.bool_] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        models = list(dict.fromkeys(p.model for p in self.profiles))
        nodes = list(dict.fromkeys(p.node_type for p in self.profiles))
        seen: set[tuple[str, str]] = set()
        for i, p in enumerate(self.profiles):
            if (p.model, p.node_type) in seen:
                raise Conflict(
                    "two profiles for the same model and node type",
                    [Problem(f"profiles[{i}]", f"{p.model} on {p.node_type} is listed twice", "keep one")],
                )
            seen.add((p.model, p.node_type))
        class_ids = list(self.classes)
        for p in self.profiles:
            for cls in (*p.class_accuracy, *p.class_confidence):
                if cls not in self.classes and cls not in class_ids:
                    class_ids.append(cls)
        object.__setattr__(self, "classes", {c: self.classes.get(c, f"class-{c}") for c in class_ids})
        object.__setattr__(self, "models", tuple(models))
        object.__setattr__(self, "node_types", tuple(nodes))
        object.__setattr__(self, "class_ids", tuple(class_ids))
        self._build_arrays()

    def _build_arrays(self) -> None:
        m_index = {m: i for i, m in enumerate(self.models)}
        n_index = {n: i for i, n in enumerate(self.node_types)}
        c_index = {c: i for i, c in enumerate(self.class_ids)}
        shape = (len(self.models), len(self.node_types))
        values = np.full((*shape, len(Metric)), np.nan)
        class_acc = np.full((*shape, len(self.class_ids)), np.nan)
        class_conf = np.full((*shape, len(self.class_ids)), np.nan)
        available = np.zeros(shape, dtype=bool)
        for p in self.profiles:
            m, n = m_index[p.model], n_index[p.node_type]
            available[m, n] = True
            for metric, name in _FIELD_OF.items():
                value = getattr(p, name)
                if value is not None:
                    values[m, n, metric] = value
            for cls, value in p.class_accuracy.items():
                class_acc[m, n, c_index[cls]] = value
            for cls, value in p.class_confidence.items():
                class_conf[m, n, c_index[cls]] = value
        for array in (values, class_acc, class_conf, available):
            array.setflags(write=False)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "class_accuracy", class_acc)
        object.__setattr__(self, "class_confidence", class_conf)
        object.__setattr__(self, "available", available)

    @classmethod
    def of(cls, profiles: Iterable[ModelProfile], classes: Mapping[int, str] | None = None) -> ProfileCatalog:
        return cls(tuple(profiles), dict(classes or {}))

    def profile(self, model: str, node_type: str) -> ModelProfile | None:
        for p in self.profiles:
            if p.model == model and p.node_type == node_type:
                return p
        return None

    def class_index(self, class_id: int, location: str = "classes") -> int:
        try:
            return self.class_ids.index(class_id)
        except ValueError:
            known = ", ".join(str(c) for c in self.class_ids) or "none"
            raise InvalidInput(
                "unknown class in contract",
                [Problem(location, f"class {class_id} is not in the catalog", f"use one of: {known}")],
            ) from None

    def require_model(self, model: str, location: str) -> int:
        if model not in self.models:
            raise InvalidInput(
                "unknown model in contract",
                [Problem(location, f"model {model!r} has no profile", f"use one of: {', '.join(self.models)}")],
            )
        return self.models.index(model)

    def require_node_type(self, node_type: str, location: str) -> int:
        if node_type not in self.node_types:
            raise InvalidInput(
                "unknown node type in contract",
                [
                    Problem(
                        location, f"node type {node_type!r} has no profile", f"use one of: {', '.join(self.node_types)}"
                    )
                ],
            )
        return self.node_types.index(node_type)

    def merged(self, other: ProfileCatalog) -> ProfileCatalog:
        """Both catalogs' profiles together; a pair present in both is a Conflict."""
        return ProfileCatalog((*self.profiles, *other.profiles), {**self.classes, **other.classes})
