"""build_report: the summary table and a self-contained HTML page with plots and explained violations."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from rich.console import Console

from rohe.core.contracts import parse_contract
from rohe.core.errors import InvalidInput
from rohe.observation.evaluation import ContractEvaluator
from rohe.observation.metrics import ALL_CONSUMERS, WindowKind
from rohe.observation.report import build_report

from .evaluation.builders import window

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def scenario() -> tuple[list, list]:  # type: ignore[type-arg]
    contract = parse_contract({"consumer": "tenant-a", "ensemble": {"max": 3}, "required_throughput": 10,
                               "deadline_ms": 250,
                               "constraints": [{"metric": "accuracy", "min": 0.9}],
                               "objectives": [{"metric": "accuracy", "direction": "max", "min": 0, "max": 1}]})
    evaluator = ContractEvaluator([contract])
    windows = [window(i, p99=600.0 if i in (3, 4) else 120.0, accuracy=0.7 if i == 6 else 0.95) for i in range(10)]
    windows += [window(i, consumer=ALL_CONSUMERS) for i in range(10)]
    windows += [window(i, kind=WindowKind.SLIDING) for i in range(3)]  # overlapping: must not be double counted
    violations = [v for w in windows for v in evaluator.evaluate(w)]
    return windows, violations


def test_table_summarises_consumers_and_violations_per_clause() -> None:
    windows, violations = scenario()
    report = build_report("vision", windows, violations, None)
    assert report.html_path is None
    rows = {row.consumer: row for row in report.consumers}
    assert rows["tenant-a"].windows == 10 and rows["tenant-a"].requests == 2000
    assert rows["tenant-a"].violations == {"accuracy at least 0.9": 1, "end-to-end p99 latency (ms) at most 250": 2}
    console = Console(record=True, width=160)
    console.print(report.table)
    text = console.export_text()
    assert "2 x end-to-end p99 latency (ms) at most 250" in text and "all consumers" in text


def test_html_page_is_written_with_plots_and_explanations(tmp_path: Path) -> None:
    windows, violations = scenario()
    report = build_report("vision", windows, violations, tmp_path / "out")
    assert report.html_path == tmp_path / "out" / "vision-report.html"
    html = report.html_path.read_text()
    images = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", html)
    assert len(images) == 3 == len(report.plots)
    assert all(base64.b64decode(image).startswith(PNG_MAGIC) for image in images)
    assert "End-to-end latency p99" in report.plots
    assert html.count("<tr><td>2026-01-01") == len(violations) == 3
    assert "most likely" in html and "http" not in html.split("<body>")[1]  # self-contained: nothing fetched


def test_empty_inputs_still_give_a_page(tmp_path: Path) -> None:
    report = build_report("idle", [], [], tmp_path)
    assert report.html_path is not None and "No violations." in report.html_path.read_text()
    assert report.plots == []


def test_unwritable_directory_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(InvalidInput) as caught:
        build_report("vision", [], [], blocker / "sub")
    assert caught.value.problems[0].location == "--out"
