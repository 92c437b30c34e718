"""Profiles from the UCC2024 dataset (object classification for autonomous driving).

A profile set is one folder: `inference_quality/<model>.csv` (per class: accuracy, avg/min confidence,
avg/min/max response time in seconds, class label) and `performance.csv` or `service_report.csv` (per model:
avg/min/max throughput). Mapping, per model on the single measured testbed:
  class_accuracy[c]   <- accuracy            class_confidence[c] <- avg_confidence
  accuracy            <- mean over classes   confidence          <- mean avg_confidence over classes
  latency_p50_ms      <- 1000 x mean avg_response_time (the mean stands in for the median)
  latency_p99_ms      <- 1000 x max max_response_time (an upper bound, so constraints stay safe)
  throughput_rps      <- min_throughput (what ROHE sizes replicas with)
The set carries no prices, so cost stays unknown. Model ids are lower-cased file stems (`vgg_2_7`).
"""

from __future__ import annotations

import csv
from pathlib import Path

from rohe.core.errors import InvalidInput, Problem
from rohe.core.profiles.catalog import ProfileCatalog
from rohe.core.profiles.model import ModelProfile
from rohe.core.profiles.rohe_features import ModelQuality

_PERFORMANCE_FILES = ("performance.csv", "service_report.csv")
_THROUGHPUT_COLUMN = "min_throughput(req/s)"


def _rows(path: Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in required if c not in (reader.fieldnames or [])]
            if missing:
                raise InvalidInput(
                    f"{path} lacks columns", [Problem(str(path), f"missing {', '.join(missing)}", "check the file")]
                )
            return list(reader)
    except FileNotFoundError:
        absent = Problem(str(path), "does not exist", "check the path")
        raise InvalidInput(f"file not found: {path}", [absent]) from None


def _float(path: Path, line: int, column: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InvalidInput(
            f"bad number in {path}", [Problem(f"{path}:{line}.{column}", f"{text!r} is not a number", "fix the cell")]
        ) from None


def ucc2024_class_names(profile_dir: Path) -> dict[int, str]:
    names: dict[int, str] = {}
    for path in sorted((profile_dir / "inference_quality").glob("*.csv")):
        for row in _rows(path, ("class", "class_label")):
            names.setdefault(int(row["class"]), row["class_label"])
    return dict(sorted(names.items()))


def ucc2024_quality(profile_dir: Path) -> dict[str, tuple[ModelQuality, float, float]]:
    """model -> (quality, mean response time ms, max response time ms)."""
    files = sorted((profile_dir / "inference_quality").glob("*.csv"))
    if not files:
        raise InvalidInput(
            f"no UCC2024 quality files in {profile_dir}",
            [Problem(str(profile_dir / "inference_quality"), "no *.csv files", "point at a profiles_* folder")],
        )
    result: dict[str, tuple[ModelQuality, float, float]] = {}
    columns = ("class", "accuracy", "avg_confidence", "avg_response_time", "max_response_time")
    for path in files:
        accuracy: dict[int, float] = {}
        confidence: dict[int, float] = {}
        avg_rt: list[float] = []
        max_rt: list[float] = []
        for line, row in enumerate(_rows(path, columns), start=2):
            cls = int(_float(path, line, "class", row["class"]))
            accuracy[cls] = _float(path, line, "accuracy", row["accuracy"])
            confidence[cls] = _float(path, line, "avg_confidence", row["avg_confidence"])
            avg_rt.append(_float(path, line, "avg_response_time", row["avg_response_time"]))
            max_rt.append(_float(path, line, "max_response_time", row["max_response_time"]))
        quality = ModelQuality(
            accuracy=sum(accuracy.values()) / len(accuracy),
            confidence=sum(confidence.values()) / len(confidence),
            class_accuracy=accuracy,
            class_confidence=confidence,
        )
        result[path.stem.lower()] = (quality, 1000 * sum(avg_rt) / len(avg_rt), 1000 * max(max_rt))
    return result


def ucc2024_throughput(profile_dir: Path) -> dict[str, float]:
    for name in _PERFORMANCE_FILES:
        path = profile_dir / name
        if path.exists():
            rows = _rows(path, ("model_id", _THROUGHPUT_COLUMN))
            return {
                r["model_id"].lower(): _float(path, i, _THROUGHPUT_COLUMN, r[_THROUGHPUT_COLUMN])
                for i, r in enumerate(rows, start=2)
            }
    raise InvalidInput(
        f"no UCC2024 performance file in {profile_dir}",
        [Problem(str(profile_dir), f"neither of {', '.join(_PERFORMANCE_FILES)} exists", "use a profiles_* folder")],
    )


def load_ucc2024(profile_dir: Path, node_type: str = "ucc-testbed") -> ProfileCatalog:
    """All models of one UCC2024 profile set, on the one (unnamed) testbed it was measured on."""
    quality = ucc2024_quality(profile_dir)
    throughput = ucc2024_throughput(profile_dir)
    profiles = []
    for model, (q, mean_ms, max_ms) in quality.items():
        profiles.append(
            ModelProfile(
                model=model,
                node_type=node_type,
                latency_p50_ms=mean_ms,
                latency_p99_ms=max(max_ms, mean_ms),
                throughput_rps=throughput.get(model),
                accuracy=q.accuracy,
                confidence=q.confidence,
                class_accuracy=dict(q.class_accuracy or {}),
                class_confidence=dict(q.class_confidence or {}),
            )
        )
    return ProfileCatalog.of(profiles, ucc2024_class_names(profile_dir))
