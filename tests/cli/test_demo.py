"""`rohe demo --quick` end to end: real processes, a real gateway, a killed and restarted model service,
and a report folder in which every scheduled request is accounted for."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import psutil
from typer.testing import CliRunner

from rohe.cli.main import app
from rohe.demo.workload import ALGORITHMS, CONSUMERS, demo_workload
from rohe.examples.workload import example_samples
from rohe.serving.loadgen import build_schedule
from rohe.serving.report import (
    ACCURACY_COST_PNG,
    DEADLINE_PNG,
    LATENCY_PNG,
    REQUESTS_CSV,
    SUMMARY_CSV,
    SUMMARY_JSON,
)


def test_quick_demo_serves_reports_and_cleans_up(workdir: Path) -> None:
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    out = workdir / "report"
    result = CliRunner().invoke(app, ["demo", "--quick", "--out", str(out), "--data-dir", str(workdir / "d")])
    assert result.exit_code == 0, result.output

    expected = len(build_schedule(demo_workload(quick=True).profile, len(example_samples())))
    with (out / REQUESTS_CSV).open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == expected  # every scheduled request has a row with an outcome
    assert sorted(int(r["index"]) for r in rows) == list(range(expected))
    assert {r["status"] for r in rows} <= {"ok", "partial", "error", "dropped_by_client"}
    assert {(r["consumer"], r["algorithm"]) for r in rows} == {(c, a) for c in CONSUMERS for a in ALGORITHMS}
    answered = [r for r in rows if r["status"] in ("ok", "partial")]
    assert len(answered) > expected / 2
    for row in answered:
        assert row["correct"] == str(row["predicted_class"] == row["true_class"])

    document = json.loads((out / SUMMARY_JSON).read_text())
    assert document["counts"]["requests"] == expected
    assert sum(group["requests"] for group in document["summary"]) == expected
    assert document["gateway_stats"]["requests"] >= len(answered)
    killed = document["killed_service"]
    kinds = [e["event"] for e in document["events"] if killed in str(e["event"])]
    assert kinds[:3] == [f"killed {killed}", f"supervisor: {killed} died", f"supervisor: {killed} restarted"]
    assert f"supervisor: {killed} healthy" in kinds
    died = next(e for e in document["events"] if e["event"] == f"supervisor: {killed} died")
    assert died["exit_code"] == -9
    # while it was down the others kept answering
    assert any(killed.removeprefix("oc-") in r["failed"] and r["status"] == "partial" for r in rows)

    with (out / SUMMARY_CSV).open() as handle:
        assert len(list(csv.DictReader(handle))) == len(CONSUMERS) * len(ALGORITHMS)
    for name in (LATENCY_PNG, ACCURACY_COST_PNG, DEADLINE_PNG):
        assert (out / name).read_bytes().startswith(b"\x89PNG")
    assert (out / "profiles.csv").is_file()
    assert any((out / "manifests").glob("*.yaml"))
    assert "serving demo: per consumer x algorithm" in result.output
    # The gateway's reports reached the observation agent: windows for both consumers, and a page about them.
    assert "Observation report: object-classification" in result.output
    page = (out / "object-classification-report.html").read_text()
    assert all(consumer in page for consumer in CONSUMERS) and "data:image/png;base64" in page

    leftovers = [p for p in psutil.Process().children(recursive=True) if p.pid not in before]
    assert [p for p in leftovers if p.status() != psutil.STATUS_ZOMBIE] == []


def test_bad_duration_is_a_clear_error(workdir: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--duration", "0"])
    assert result.exit_code == 2
    assert "duration" in result.output
