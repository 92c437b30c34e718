"""Profiles from the IoT_journal dataset: per-model quality YAMLs plus a performance sample.

Quality files (`<MODEL>_v<k>.yaml`): `profile.overall.accuracy` and `profile.specific_class.label_<N>.accuracy`
map to accuracy and class_accuracy[N]. Their `threshold.conf_<t>` entries are the accuracy among predictions
with confidence >= t, not a confidence level, so confidence stays unknown.
Performance sample: `<MODEL>.data.<device>.<GPU|CPU>` with response_time max/min/percentize_90 (seconds) and
throughput. The node type is `<device>-<gpu|cpu>`; latency_p99_ms <- 1000 x max (an upper bound; p90 and min
have no slot); throughput_rps <- throughput (absent -> unknown). Names are joined ignoring case and
non-alphanumerics (MINI_ROCKET == MINIROCKET); models with performance but no quality keep quality unknown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from rohe.core.errors import InvalidInput, Problem
from rohe.core.loading import load_document
from rohe.core.profiles.catalog import ProfileCatalog
from rohe.core.profiles.model import ModelProfile

_LABEL = re.compile(r"^label_(\d+)$")


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _fail(where: str, message: str) -> InvalidInput:
    return InvalidInput("invalid IoT_journal profile", [Problem(where, message, "check the file against the dataset")])


def _quality(data: Any, source: str) -> tuple[str, float | None, dict[int, float]]:
    if not isinstance(data, Mapping) or "model_name" not in data or not isinstance(data.get("profile"), Mapping):
        raise _fail(source, "expected model_name and profile")
    profile = data["profile"]
    overall = profile.get("overall") or {}
    classes: dict[int, float] = {}
    for label, entry in (profile.get("specific_class") or {}).items():
        match = _LABEL.match(str(label))
        if not match or not isinstance(entry, Mapping) or "accuracy" not in entry:
            raise _fail(f"{source}: profile.specific_class.{label}", "expected label_<N> with an accuracy")
        classes[int(match.group(1))] = float(entry["accuracy"])
    accuracy = overall.get("accuracy")
    return str(data["model_name"]), float(accuracy) if accuracy is not None else None, classes


def _performance(data: Any, source: str) -> dict[str, dict[str, tuple[float | None, float | None]]]:
    """model -> node type -> (p99 ms, throughput)."""
    if not isinstance(data, Mapping):
        raise _fail(source, "expected a mapping of models")
    result: dict[str, dict[str, tuple[float | None, float | None]]] = {}
    for model, entry in data.items():
        devices = entry.get("data") if isinstance(entry, Mapping) else None
        if not isinstance(devices, Mapping):
            raise _fail(f"{source}: {model}.data", "missing")
        nodes: dict[str, tuple[float | None, float | None]] = {}
        for device, units in devices.items():
            for unit, measures in (units or {}).items():
                rt = measures.get("response_time") or {}
                worst = rt.get("max")
                rate = measures.get("throughput")
                nodes[f"{device}-{str(unit).lower()}"] = (
                    1000 * float(worst) if worst is not None else None,
                    float(rate) if rate else None,
                )
        result[str(model)] = nodes
    return result


def load_iot_journal(quality_paths: Iterable[Path], performance_path: Path | None = None) -> ProfileCatalog:
    qualities = {}
    for path in quality_paths:
        name, accuracy, classes = _quality(load_document(path), str(path))
        qualities[_key(name)] = (name, accuracy, classes)
    performance = _performance(load_document(performance_path), str(performance_path)) if performance_path else {}
    profiles: list[ModelProfile] = []
    joined: set[str] = set()
    for model, nodes in performance.items():
        name, accuracy, classes = qualities.get(_key(model), (model, None, {}))
        joined.add(_key(model))
        for node, (p99, rate) in nodes.items():
            profiles.append(
                ModelProfile(
                    model=name,
                    node_type=node,
                    latency_p99_ms=p99,
                    throughput_rps=rate,
                    accuracy=accuracy,
                    class_accuracy=classes,
                )
            )
    for key, (name, accuracy, classes) in qualities.items():
        if key not in joined:
            profiles.append(ModelProfile(model=name, node_type="unmeasured", accuracy=accuracy, class_accuracy=classes))
    class_ids = sorted({c for p in profiles for c in p.class_accuracy})
    return ProfileCatalog.of(profiles, {c: f"label_{c}" for c in class_ids})
