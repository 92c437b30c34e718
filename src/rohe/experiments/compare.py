"""`rohe experiment compare DIR1 DIR2`: two stored experiments side by side, from their rows.csv only.

Arms are renamed `<label>:<arm>` (labels default to the folder names). An arm present in both is paired on
(repetition, query id) - same spec and seed give identical queries - and tested as in any experiment, Holm
over all tests. Nothing is rerun: an experiment folder without rows.csv is an error.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

from rohe.core.errors import InvalidInput, Problem
from rohe.experiments.report import ROWS_CSV
from rohe.experiments.rows import Row, read_rows
from rohe.experiments.stats import PairedResult, holm, paired
from rohe.experiments.summary import METRICS, ArmSummary, arms_in_order, summarise


def _labels(first: Path, second: Path) -> tuple[str, str]:
    a, b = first.resolve().name or "a", second.resolve().name or "b"
    return (a, b) if a != b else (f"{a}#1", f"{b}#2")


def compare_dirs(first: Path, second: Path, seed: int = 0) -> tuple[list[ArmSummary], list[PairedResult]]:
    for folder in (first, second):
        if not (folder / ROWS_CSV).is_file():
            raise InvalidInput(
                "not an experiment folder", [Problem(str(folder), f"has no {ROWS_CSV}", "run the experiment first")]
            )
    label_a, label_b = _labels(first, second)
    rows_a = [replace(r, arm=f"{label_a}:{r.arm}") for r in read_rows(first / ROWS_CSV)]
    rows_b = [replace(r, arm=f"{label_b}:{r.arm}") for r in read_rows(second / ROWS_CSV)]
    summaries = summarise(rows_a + rows_b, seed)
    tests = []
    arms_a = {a.split(":", 1)[1] for a in arms_in_order(rows_a)}
    for arm in [a.split(":", 1)[1] for a in arms_in_order(rows_b)]:
        if arm in arms_a:
            tests.extend(_pair(arm, label_a, rows_a, label_b, rows_b, seed))
    adjusted = holm([t.p_value for t in tests])
    return summaries, [PairedResult(**{**asdict(t), "p_holm": q}) for t, q in zip(tests, adjusted, strict=True)]


def _pair(arm: str, label_a: str, rows_a: list[Row], label_b: str, rows_b: list[Row], seed: int) -> list[PairedResult]:
    a = {(r.repetition, r.query_id): r for r in rows_a if r.arm == f"{label_a}:{arm}"}
    b = {(r.repetition, r.query_id): r for r in rows_b if r.arm == f"{label_b}:{arm}"}
    keys = sorted(set(a) & set(b))
    if not keys:
        return []
    return [
        paired(
            metric,
            f"{label_a}:{arm}",
            [value(a[k]) for k in keys],
            f"{label_b}:{arm}",
            [value(b[k]) for k in keys],
            binary=binary,
            seed=seed,
        )
        for metric, (value, binary) in METRICS.items()
    ]
