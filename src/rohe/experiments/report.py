"""An experiment's output folder, written from rows alone (so `compare` and reruns of the report agree).

rows.csv (every request), summary.csv / summary.json (per arm: means, CIs, percentiles at full precision,
plus the paired tests and the definitions), paired.csv, summary.md (the Markdown table) and the plots.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from rohe.experiments.plots import write_plots
from rohe.experiments.rows import Row, write_rows
from rohe.experiments.stats import PairedResult
from rohe.experiments.summary import ArmSummary, markdown, paired_tests, summarise

ROWS_CSV = "rows.csv"
SUMMARY_CSV = "summary.csv"
SUMMARY_JSON = "summary.json"
PAIRED_CSV = "paired.csv"
SUMMARY_MD = "summary.md"

DEFINITIONS = {
    "late_ratio": "queries answered after their deadline or not at all / all queries",
    "accuracy": "predicted class == true class, over answered queries",
    "members": "member inferences sent per query",
    "cost": "per-request cost of the members sent, from the catalog (0 when it has none)",
    "latency": "arrival to answer, over answered queries",
    "ci": "95% percentile bootstrap over queries (2000 resamples, seeded)",
    "paired": "same (repetition, query id) in both arms; McNemar exact for late/correct, Wilcoxon otherwise; "
    "p-values Holm-corrected over all tests of the experiment",
}


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def _write_table(path: Path, header: Sequence[str], records: Sequence[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for record in records:
            writer.writerow(
                [
                    "" if isinstance(v, float) and math.isnan(v) else repr(v) if isinstance(v, float) else v
                    for v in (record[h] for h in header)
                ]
            )


def write_outputs(
    rows: Sequence[Row],
    out: Path,
    title: str,
    *,
    baseline: str | None = None,
    seed: int = 0,
    extra: dict[str, Any] | None = None,
) -> tuple[list[ArmSummary], list[PairedResult]]:
    out.mkdir(parents=True, exist_ok=True)
    write_rows(rows, out / ROWS_CSV)
    summaries = summarise(rows, seed)
    tests = paired_tests(rows, baseline, seed)
    _write_table(out / SUMMARY_CSV, [f.name for f in fields(ArmSummary)], [asdict(s) for s in summaries])
    _write_table(out / PAIRED_CSV, [f.name for f in fields(PairedResult)], [asdict(t) for t in tests])
    body = {
        "title": title,
        "definitions": DEFINITIONS,
        "arms": [asdict(s) for s in summaries],
        "paired": [asdict(t) for t in tests],
        **(extra or {}),
    }
    (out / SUMMARY_JSON).write_text(json.dumps(_json_safe(body), indent=2) + "\n", encoding="utf-8")
    (out / SUMMARY_MD).write_text(f"# {title}\n\n{markdown(summaries, tests)}", encoding="utf-8")
    write_plots(rows, summaries, out, title)
    return summaries, tests
