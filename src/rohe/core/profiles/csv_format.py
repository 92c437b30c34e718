"""rohe's own profile CSV: one row per model x node type, empty cell = unknown.

Columns: model, node_type, latency_p50_ms, latency_p95_ms, latency_p99_ms, throughput_rps, accuracy,
confidence, cost_base, cost_per_request, then one `accuracy[<class id>=<class name>]` and one
`confidence[<class id>=<class name>]` column per class.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from pydantic import ValidationError

from rohe.core.errors import InvalidInput, Problem
from rohe.core.loading import problems_from_validation
from rohe.core.profiles.catalog import ProfileCatalog
from rohe.core.profiles.model import ModelProfile

SCALAR_COLUMNS = (
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "throughput_rps",
    "accuracy",
    "confidence",
    "cost_base",
    "cost_per_request",
)
_CLASS_COLUMN = re.compile(r"^(accuracy|confidence)\[(-?\d+)=(.*)\]$")


def dumps_catalog(catalog: ProfileCatalog) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    class_columns = [
        f"{kind}[{c}={catalog.classes[c]}]" for kind in ("accuracy", "confidence") for c in catalog.class_ids
    ]
    writer.writerow(["model", "node_type", *SCALAR_COLUMNS, *class_columns])
    for p in catalog.profiles:
        scalars = [_cell(getattr(p, column)) for column in SCALAR_COLUMNS]
        per_class = [_cell(p.class_accuracy.get(c)) for c in catalog.class_ids]
        per_class += [_cell(p.class_confidence.get(c)) for c in catalog.class_ids]
        writer.writerow([p.model, p.node_type, *scalars, *per_class])
    return buffer.getvalue()


def _cell(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def loads_catalog(text: str, source: str = "<csv>") -> ProfileCatalog:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or header[:2] != ["model", "node_type"]:
        raise InvalidInput(
            f"{source} is not a profile CSV", [Problem(f"{source}:1", "must start with model,node_type", "")]
        )
    classes: dict[int, str] = {}
    layout: list[tuple[str, int | None]] = []
    for i, column in enumerate(header[2:], start=3):
        match = _CLASS_COLUMN.match(column)
        if match:
            classes[int(match.group(2))] = match.group(3)
            layout.append((match.group(1), int(match.group(2))))
        elif column in SCALAR_COLUMNS:
            layout.append((column, None))
        else:
            raise InvalidInput(
                f"unknown column in {source}",
                [Problem(f"{source}:1 column {i}", f"{column!r}", "use the columns dumps_catalog writes")],
            )
    profiles = []
    for line, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) != len(header):
            raise InvalidInput(
                f"bad row in {source}",
                [Problem(f"{source}:{line}", f"{len(row)} cells for {len(header)} columns", "fix the row")],
            )
        fields: dict[str, object] = {"model": row[0], "node_type": row[1]}
        class_accuracy: dict[int, float] = {}
        class_confidence: dict[int, float] = {}
        for (name, cls), cell in zip(layout, row[2:], strict=True):
            if cell == "":
                continue
            if cls is None:
                fields[name] = cell
            elif name == "accuracy":
                class_accuracy[cls] = _number(cell, source, line, name)
            else:
                class_confidence[cls] = _number(cell, source, line, name)
        try:
            profiles.append(
                ModelProfile.model_validate(
                    {**fields, "class_accuracy": class_accuracy, "class_confidence": class_confidence}
                )
            )
        except ValidationError as exc:
            raise InvalidInput(f"bad row in {source}", problems_from_validation(exc, f"{source}:{line}")) from None
    return ProfileCatalog.of(profiles, classes)


def _number(cell: str, source: str, line: int, column: str) -> float:
    try:
        return float(cell)
    except ValueError:
        raise InvalidInput(
            f"bad number in {source}", [Problem(f"{source}:{line}.{column}", f"{cell!r} is not a number", "")]
        ) from None


def save_catalog(catalog: ProfileCatalog, path: Path) -> None:
    path.write_text(dumps_catalog(catalog), encoding="utf-8")


def load_catalog(path: Path) -> ProfileCatalog:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        missing = Problem(str(path), "does not exist", "check the path")
        raise InvalidInput(f"file not found: {path}", [missing]) from None
    return loads_catalog(text, str(path))
