"""Profiles from ROHE's ensemble-selection feature tables (model*_features.yaml, device*_features.yaml).

The published method prices a service (model on infrastructure) at COST_SCALE x (model baseCost +
infrastructure baseCost) per replica and ignores costPerRequest; it takes the throughput that sizes
replicas from measurements (`min_throughput`), and accuracy/confidence from measured per-class quality.
The tables hold no quality and their throughput fields are 0 ("not measured"), so those come from the
optional `quality` and `throughput` arguments, e.g. a UCC2024 profile set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rohe.core.errors import InvalidInput, Problem, ProblemCollector
from rohe.core.loading import load_document
from rohe.core.profiles.catalog import ProfileCatalog
from rohe.core.profiles.model import ModelProfile

COST_SCALE = 1e-5  # the published method's factor from table prices to the contract's cost range


@dataclass(frozen=True)
class ModelQuality:
    """Quality of a model independent of where it runs (ROHE computes it per model, not per node)."""

    accuracy: float | None = None
    confidence: float | None = None
    class_accuracy: Mapping[int, float] | None = None
    class_confidence: Mapping[int, float] | None = None


def _number(collector: ProblemCollector, where: str, table: Mapping[str, Any], key: str) -> float | None:
    value = table.get(key)
    if value is None:
        collector.add(f"{where}.{key}", "missing", "add this field")
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        collector.add(f"{where}.{key}", f"{value!r} is not a number", "use a number")
        return None
    if number < 0:
        collector.add(f"{where}.{key}", f"{number} is negative", "use a value that is not negative")
        return None
    return number


def _table(data: Any, source: str) -> Mapping[str, Mapping[str, Any]]:
    if not isinstance(data, Mapping) or not all(isinstance(v, Mapping) for v in data.values()):
        raise InvalidInput(f"{source} is not a feature table", [Problem(source, "expected name: {fields}", "")])
    return {str(k): v for k, v in data.items()}


def catalog_from_rohe_features(
    models: Any,
    devices: Any,
    classes: Any = None,
    quality: Mapping[str, ModelQuality] | None = None,
    throughput: Mapping[str, float] | None = None,
    include_request_cost: bool = False,
) -> ProfileCatalog:
    """One profile per model x device from already-parsed tables.

    Throughput per replica is the table's `wThroughput` (worst case, what ROHE sizes replicas with) when it
    is positive, else `throughput[model]`, else unknown. `include_request_cost` adds the tables'
    costPerRequest (scaled like the base cost); off by default because the published method ignores it.
    """
    model_table = _table(models, "models")
    device_table = _table(devices, "devices")
    collector = ProblemCollector()
    device_costs: dict[str, tuple[float, float]] = {}
    for name, row in device_table.items():
        base = _number(collector, name, row, "baseCost")
        per_request = _number(collector, name, row, "costPerRequest")
        if base is not None and per_request is not None:
            device_costs[name] = (base, per_request)
    quality = quality or {}
    throughput = throughput or {}
    for name in (*quality, *throughput):
        if name not in model_table:
            collector.add(f"quality/throughput.{name}", "names a model that is not in the model table", "")
    profiles: list[ModelProfile] = []
    for name, row in model_table.items():
        base = _number(collector, name, row, "baseCost")
        per_request = _number(collector, name, row, "costPerRequest")
        if base is None or per_request is None:
            continue
        measured = float(row.get("wThroughput") or 0.0)
        rate = measured if measured > 0 else throughput.get(name)
        q = quality.get(name, ModelQuality())
        for device, (device_base, device_per_request) in device_costs.items():
            profiles.append(
                ModelProfile(
                    model=name,
                    node_type=device,
                    throughput_rps=rate,
                    accuracy=q.accuracy,
                    confidence=q.confidence,
                    class_accuracy=dict(q.class_accuracy or {}),
                    class_confidence=dict(q.class_confidence or {}),
                    cost_base=COST_SCALE * (base + device_base),
                    cost_per_request=COST_SCALE * (per_request + device_per_request) if include_request_cost else 0.0,
                )
            )
    collector.raise_if_any("invalid ROHE feature tables")
    names = {int(k): str(v) for k, v in (classes or {}).items()}
    return ProfileCatalog.of(profiles, names)


def load_rohe_features(
    models_path: Path,
    devices_path: Path,
    classes_path: Path | None = None,
    quality: Mapping[str, ModelQuality] | None = None,
    throughput: Mapping[str, float] | None = None,
    include_request_cost: bool = False,
) -> ProfileCatalog:
    classes = load_document(classes_path) if classes_path else None
    return catalog_from_rohe_features(
        load_document(models_path), load_document(devices_path), classes, quality, throughput, include_request_cost
    )
