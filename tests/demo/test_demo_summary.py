"""What the demo prints after the load: error cells above 5% are flagged, clauses are named in words."""

from __future__ import annotations

from rich.console import Console

from rohe.demo.summary import print_error_cells
from rohe.observation.evaluation.words import clause_in_words
from rohe.serving.loadgen import RequestOutcome, RequestResult, RunResult


def result(i: int, consumer: str, status: RequestOutcome, error: str | None = None) -> RequestResult:
    return RequestResult(i, "steady", consumer, "rohe-ensemble", i * 0.1, status, 0, error=error)


def test_cells_with_more_than_five_percent_unanswered_are_flagged_with_the_usual_cause() -> None:
    results = [result(i, "careful", RequestOutcome.OK) for i in range(40)]
    results += [result(40 + i, "careful", RequestOutcome.ERROR, "late") for i in range(2)]  # 2/42 < 5%
    results += [result(100 + i, "fast", RequestOutcome.OK) for i in range(10)]
    results += [result(200 + i, "fast", RequestOutcome.ERROR, "no ensemble fits") for i in range(3)]
    results.append(result(300, "fast", RequestOutcome.DROPPED))
    run = RunResult(results, duration_s=10, elapsed_s=10)
    console = Console(width=200, record=True)
    flagged = print_error_cells(console, run.summary(), run)
    assert flagged == [("fast", "rohe-ensemble", 4 / 14)]
    text = console.export_text()
    assert "fast x rohe-ensemble: 29% of 14 request(s) without an answer" in text
    assert "most often (3): no ensemble fits" in text
    assert "careful" not in text


def test_clauses_are_named_in_words() -> None:
    assert clause_in_words("accuracy", ">=", 0.95) == "accuracy at least 0.95"
    assert clause_in_words("end_to_end.p99_ms", "<=", 500) == "end-to-end p99 latency (ms) at most 500"
    assert clause_in_words("deadline_ms", "<=", 20) == "latency (ms) at most 20"
