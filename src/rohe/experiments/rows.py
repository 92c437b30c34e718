"""Every request of an experiment as one row, written and read back at full precision.

One row per (arm, repetition, query). `late` is the deadline missed: answered after `deadline_s`, or not
answered at all. `correct` is predicted == true class over answered queries (empty when not answered).
`latency_s` is empty when nothing answered. Floats are written with repr, so reading gives the same number.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rohe.core.errors import InvalidInput, Problem
from rohe.simulation import SimRecord

COLUMNS = (
    "arm",
    "repetition",
    "seed",
    "query_id",
    "arrival_s",
    "latency_s",
    "deadline_s",
    "answered",
    "late",
    "true_class",
    "predicted_class",
    "correct",
    "members",
    "member_models",
    "cost",
)


@dataclass(frozen=True)
class Row:
    arm: str
    repetition: int
    seed: int
    query_id: str
    arrival_s: float
    latency_s: float  # NaN: unanswered
    deadline_s: float
    answered: bool
    late: bool
    true_class: int
    predicted_class: int  # -1: unanswered
    correct: bool | None
    members: int
    member_models: tuple[str, ...]
    cost: float


def from_records(arm: str, repetition: int, seed: int, records: Iterable[SimRecord]) -> list[Row]:
    """Rows of one simulated arm, as the simulator judged them."""
    rows = []
    for r in records:
        rows.append(
            Row(
                arm,
                repetition,
                seed,
                r.query_id,
                r.arrival_s,
                r.latency_s,
                r.deadline_s,
                r.answered,
                r.late,
                r.true_class,
                r.predicted_class,
                r.correct if r.answered else None,
                r.members,
                tuple(r.member_models),
                r.cost,
            )
        )
    return rows


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    if isinstance(value, tuple):
        return ";".join(str(v) for v in value)
    return str(value)


def write_rows(rows: Sequence[Row], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow([_cell(getattr(row, c)) for c in COLUMNS])
    return path


def _float(text: str) -> float:
    return float(text) if text else math.nan


def _bool(text: str) -> bool | None:
    return None if text == "" else text == "true"


def read_rows(path: Path) -> list[Row]:
    if not path.is_file():
        raise InvalidInput("no stored rows", [Problem(str(path), "does not exist", "run the experiment first")])
    rows = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise InvalidInput("not an experiment rows file", [Problem(str(path), f"no column {missing[0]!r}", "")])
        for line, cells in enumerate(reader, start=2):
            try:
                rows.append(
                    Row(
                        cells["arm"],
                        int(cells["repetition"]),
                        int(cells["seed"]),
                        cells["query_id"],
                        float(cells["arrival_s"]),
                        _float(cells["latency_s"]),
                        _float(cells["deadline_s"]),
                        cells["answered"] == "true",
                        cells["late"] == "true",
                        int(cells["true_class"]),
                        int(cells["predicted_class"]),
                        _bool(cells["correct"]),
                        int(cells["members"]),
                        tuple(m for m in cells["member_models"].split(";") if m),
                        float(cells["cost"]),
                    )
                )
            except (TypeError, ValueError) as exc:
                raise InvalidInput(
                    "unreadable experiment row", [Problem(f"{path}:{line}", str(exc), "the file was edited by hand?")]
                ) from None
    return rows
