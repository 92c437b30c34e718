"""Contract clauses in words: what an operator reads instead of a field path and a comparison operator.

`accuracy`, `>=`, 0.95 reads `accuracy at least 0.95`; a metric without a known wording reads as its path
with separators turned into spaces (`performance_slo.throughput_rps` -> `performance slo throughput rps`).
"""

from __future__ import annotations

_OPERATORS = {">=": "at least", ">": "above", "<=": "at most", "<": "below", "==": "exactly", "!=": "not"}
_METRICS = {
    "end_to_end.p99_ms": "end-to-end p99 latency (ms)",
    "deadline_ms": "latency (ms)",
    "accuracy": "accuracy",
}


def clause_in_words(metric: str, operator: str, threshold: float) -> str:
    """`accuracy`, `>=`, 0.95 -> `accuracy at least 0.95`."""
    subject = _METRICS.get(metric, metric.replace("_", " ").replace(".", " "))
    return f"{subject} {_OPERATORS.get(operator, operator)} {threshold:g}"
