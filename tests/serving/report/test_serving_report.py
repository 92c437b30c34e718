"""The report folder: every request in the CSV, the summary in CSV and JSON, three real PNGs, a table."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from rich.console import Console

from rohe.serving.loadgen import RequestOutcome, RequestResult, RunResult
from rohe.serving.report import (
    ACCURACY_COST_PNG,
    DEADLINE_PNG,
    LATENCY_PNG,
    REQUEST_COLUMNS,
    REQUESTS_CSV,
    SUMMARY_CSV,
    SUMMARY_JSON,
    summary_table,
    write_report,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def make_run() -> RunResult:
    results = []
    statuses = [
        RequestOutcome.OK,
        RequestOutcome.OK,
        RequestOutcome.PARTIAL,
        RequestOutcome.ERROR,
        RequestOutcome.DROPPED,
    ]
    for i in range(40):
        status = statuses[i % len(statuses)]
        answered = status in (RequestOutcome.OK, RequestOutcome.PARTIAL)
        results.append(
            RequestResult(
                index=i,
                phase="steady" if i < 30 else "burst",
                consumer="fast" if i % 2 else "careful",
                algorithm="adaptive" if i % 4 < 2 else "single-best",
                intended_s=i * 0.1,
                status=status,
                true_class=i % 10,
                sent_s=None if status is RequestOutcome.DROPPED else i * 0.1 + 0.001,
                latency_ms=5.0 + i if status is not RequestOutcome.DROPPED else None,
                predicted_class=(i % 10 if i % 3 else 0) if answered else None,
                deadline_ms=20.0,
                deadline_missed=not answered or 5.0 + i > 20.0,
                ensemble_size=2 if answered else 0,
                cost=0.01 if answered else 0.0,
                answered=("m1", "m2") if answered else (),
                late=("m3",) if status is RequestOutcome.PARTIAL else (),
            )
        )
    events: list[dict[str, object]] = [{"at_s": 2.0, "event": "killed oc-knn", "exit_code": -9}]
    return RunResult(results, duration_s=4.0, elapsed_s=4.2, phases=[("steady", 0, 3), ("burst", 3, 4)], events=events)


def test_the_folder_holds_every_request_the_summary_and_plots(tmp_path: Path) -> None:
    run = make_run()
    files = write_report(run, tmp_path / "out", title="t", phase_rates={"steady": 5, "burst": 20}, extra={"x": 1})
    with (tmp_path / "out" / REQUESTS_CSV).open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 40 and list(rows[0]) == list(REQUEST_COLUMNS)
    assert {r["status"] for r in rows} == {"ok", "partial", "error", "dropped_by_client"}
    assert rows[3]["correct"] == "" and rows[1]["correct"] == "True" and rows[2]["late"] == "m3"
    with (tmp_path / "out" / SUMMARY_CSV).open() as handle:
        summary = list(csv.DictReader(handle))
    assert len(summary) == 4
    for name in (LATENCY_PNG, ACCURACY_COST_PNG, DEADLINE_PNG):
        data = (tmp_path / "out" / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5_000
    assert set(files.plots) == {tmp_path / "out" / n for n in (LATENCY_PNG, ACCURACY_COST_PNG, DEADLINE_PNG)}
    document = json.loads((tmp_path / "out" / SUMMARY_JSON).read_text())
    assert document["counts"] == {"requests": 40, "ok": 16, "partial": 8, "error": 8, "dropped_by_client": 8}
    assert document["events"][0]["event"] == "killed oc-knn"
    assert document["x"] == 1
    total = sum(row["requests"] for row in document["summary"])
    assert total == 40
    by_group = {(r["consumer"], r["algorithm"]): r for r in document["summary"]}
    careful = [r for r in run.results if r.consumer == "careful" and r.algorithm == "adaptive"]
    judged = [r.correct for r in careful if r.correct is not None]
    assert by_group[("careful", "adaptive")]["accuracy"] == sum(judged) / len(judged)


def test_table_lists_every_group() -> None:
    console = Console(width=200, record=True)
    console.print(summary_table(make_run().summary()))
    text = console.export_text()
    for name in ("careful", "fast", "adaptive", "single-best"):
        assert name in text


def test_csv_keeps_full_precision_so_small_costs_are_not_zero(tmp_path: Path) -> None:
    run = make_run()
    tiny = [r.__class__(**{**r.__dict__, "cost": 1.234567e-7 if r.is_answered else 0.0}) for r in run.results]
    write_report(RunResult(tiny, run.duration_s, run.elapsed_s, run.phases), tmp_path)
    with (tmp_path / SUMMARY_CSV).open() as handle:
        summary = list(csv.DictReader(handle))
    assert all(float(row["cost_total"]) > 0 for row in summary)
    assert {float(row["cost_mean"]) for row in summary} == {1.234567e-7}
    with (tmp_path / REQUESTS_CSV).open() as handle:
        assert float(next(csv.DictReader(handle))["cost"]) == 1.234567e-7


def test_table_fits_120_columns_without_cutting_a_cell() -> None:
    rows = make_run().summary()
    for width in (120, 90):
        console = Console(width=width, record=True)
        console.print(summary_table(rows, width=width))
        text = console.export_text()
        assert max(len(line) for line in text.splitlines()) <= width
        assert "…" not in text  # rich marks a cut cell with an ellipsis
        for row in rows:
            assert f"{row.ok}/{row.partial}/{row.errors}/{row.dropped}" in text


def test_plots_take_the_deadlines_and_say_what_a_miss_counts(tmp_path: Path) -> None:
    files = write_report(make_run(), tmp_path, deadlines={"fast": 20.0, "careful": 500.0})
    assert all(p.read_bytes().startswith(PNG_MAGIC) for p in files.plots)
    document = json.loads((tmp_path / SUMMARY_JSON).read_text())
    assert "rejected" in document["definitions"]["deadline_miss_ratio"]
    assert "price units" in document["definitions"]["cost"]


def test_a_consumer_without_a_single_answer_still_gets_its_plots(tmp_path: Path) -> None:
    run = make_run()
    lost = [
        r.__class__(**{**r.__dict__, "status": RequestOutcome.ERROR, "latency_ms": 3.0})
        if r.consumer == "fast" else r
        for r in run.results
    ]
    files = write_report(RunResult(lost, run.duration_s, run.elapsed_s, run.phases), tmp_path)
    assert all(p.read_bytes().startswith(PNG_MAGIC) for p in files.plots)
