"""Malformed trace rows are counted by reason and reported; nothing raises, nothing vanishes silently."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from experiments.tracefiles import clean_run, member, query, write_run
from rohe.cli.experiment import app
from rohe.core.errors import InvalidInput
from rohe.experiments.figures import run_figures
from rohe.experiments.traces import discover_runs, read_run


def broken_run(folder: Path) -> Path:
    good = query("q1", 10.0, False, ["a1"], "sitting")
    bad_literal = {**query("q2", 11.0, True, ["a2"], "sitting"), "inf_id": "['a2', "}
    no_id = {**query("q3", 12.0, False, ["a3"], "sitting"), "query_id": ""}
    bad_flag = {**query("q4", 13.0, False, ["a4"], "sitting"), "time_violation": "maybe"}
    bad_data = {**query("q5", 14.0, False, ["a5"], "sitting"), "data": "__import__('os').system('true')"}
    duplicate = query("q1", 15.0, True, ["a6"], "sitting")
    members = [
        member("a1", "q1", "m1", "nano", 0.01, "sitting"),
        {**member("a5", "q5", "m1", "nano", 0.01, "sitting"), "response_time": "fast"},
        {**member("a7", "q1", "m1", "nano", 0.01, "sitting"), "inf_result": "{'sitting': 0.5,"},
    ]
    feedback = [("q1", "sitting"), ("q-unknown", "walking"), ("", "sitting"), ("q2", "7")]
    return write_run(folder, [good, bad_literal, no_id, bad_flag, bad_data, duplicate], members, feedback)


def test_every_defect_is_counted_by_reason(tmp_path: Path) -> None:
    run = read_run(broken_run(tmp_path / "run_1"))
    counts = run.issues.counts
    assert counts["inference row without query_id (skipped)"] == 1
    assert counts["inference row repeats a query_id (first kept)"] == 1
    assert counts["inference row with a bad inf_id literal (members unknown)"] == 1
    assert counts["inference row with a bad data literal (no served answer)"] == 1
    assert sum(v for k, v in counts.items() if k.startswith("inference row with unreadable")) == 1
    assert counts["member row with an unreadable response_time (skipped)"] == 1
    assert counts["member row with a bad inf_result literal (no prediction)"] == 1
    assert counts["feedback for a query not in inference_report.csv"] == 1
    assert counts["feedback row without query_id or ground_truth (skipped)"] == 1
    # q1, q2 (members unknown) and q5 (no answer) are kept; q3, q4 and the duplicate are not.
    assert [q.query_id for q in run.queries] == ["q1", "q2", "q5"]
    assert run.queries[2].served is None
    figures = run_figures(run)
    # q1 answered 'sitting' against 'sitting'; q2's feedback is the numeric id '7'.
    assert (figures.queries, figures.late, figures.labelled, figures.correct) == (3, 1, 2, 1)
    assert figures.numeric_feedback == 1
    assert figures.issues["total"] == run.issues.total


def test_cells_are_literals_never_code(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    q = {**query("q1", 1.0, False, ["a"], "x"), "data": f"open({str(marker)!r}, 'w')"}
    run = read_run(write_run(tmp_path / "r", [q], [], []))
    assert not marker.exists()
    assert run.issues.counts["inference row with a bad data literal (no served answer)"] == 1


def test_missing_column_names_the_file(tmp_path: Path) -> None:
    folder = clean_run(tmp_path / "run")
    text = (folder / "inference_report.csv").read_text().replace("time_violation", "violation")
    (folder / "inference_report.csv").write_text(text)
    with pytest.raises(InvalidInput) as caught:
        read_run(folder)
    assert "time_violation" in str(caught.value)


def test_cli_reports_defects_and_exits_cleanly(tmp_path: Path) -> None:
    broken_run(tmp_path / "cmp" / "orchestrator" / "run_3")
    clean_run(tmp_path / "cmp" / "other" / "run_1")
    assert [n for n, _ in discover_runs(tmp_path / "cmp")] == ["orchestrator", "other"]
    result = CliRunner().invoke(app, ["replay", str(tmp_path / "cmp"), "--out", str(tmp_path / "o"), "--figures-only"])
    assert result.exit_code == 0, result.output
    assert "orchestrator" in result.output and "1 x inference row without query_id (skipped)" in result.output
    assert (tmp_path / "o" / "figures.json").is_file()


def test_cli_bad_folder_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(app, ["replay", str(tmp_path / "empty"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "no runs found" in result.output
    assert "Traceback" not in result.output
