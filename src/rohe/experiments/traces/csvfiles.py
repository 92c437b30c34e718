"""Row access shared by the trace readers: required columns checked up front, cell literals parsed safely.

Cells holding Python literals (lists, dicts) go through `ast.literal_eval`, which only builds literals and
never runs code; anything it refuses is a malformed cell, counted by the caller.
"""

from __future__ import annotations

import ast
import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rohe.core.errors import InvalidInput, Problem

# Rows longer than a run's files are plausible (a 1,000-query trace has ~100 kB cells); keep csv's cap above that.
csv.field_size_limit(16 * 1024 * 1024)


def read_rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str | None]]]:
    """(line number, row) for every data row; a missing file or column is an InvalidInput naming it."""
    if not path.is_file():
        raise InvalidInput("trace file missing", [Problem(str(path), "does not exist", "point at a run folder")])
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise InvalidInput(
                "trace file lacks columns",
                [Problem(str(path), f"no column {c!r}", "is this the right file?") for c in missing],
            )
        for row in reader:
            yield reader.line_num, row


def literal(cell: str | None) -> Any:
    """The literal in a cell, or raise ValueError (bad or empty cells alike)."""
    if cell is None or not cell.strip():
        raise ValueError("empty cell")
    try:
        return ast.literal_eval(cell.strip())
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError) as exc:
        raise ValueError(f"not a Python literal: {exc}") from None


def number(cell: str | None) -> float:
    if cell is None or not cell.strip():
        raise ValueError("empty cell")
    value = float(cell)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("not a finite number")
    return value


def boolean(cell: str | None) -> bool:
    text = (cell or "").strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise ValueError(f"not a boolean: {cell!r}")


def text_list(cell: str | None) -> tuple[str, ...]:
    value = literal(cell)
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError("not a list of strings")
    return tuple(value)
