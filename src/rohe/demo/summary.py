"""What the demo prints after the load: cells with too many unanswered requests, the killed service's
story, and the first violation of each consumer and clause in words."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from rich.console import Console

from rohe.observation.embedded import ObservedRun
from rohe.observation.evaluation.words import clause_in_words
from rohe.observation.metrics import ALL_CONSUMERS
from rohe.platform import Platform
from rohe.serving.loadgen import RunResult
from rohe.serving.loadgen.results import SummaryRow

ERROR_FLAG_RATIO = 0.05  # a consumer x algorithm cell with more unanswered requests than this is flagged
CAUSE_CHARS = 160

def print_error_cells(console: Console, rows: Sequence[SummaryRow], run: RunResult) -> list[tuple[str, str, float]]:
    """Flag every consumer x algorithm cell where more than 5% of requests got no answer, with the usual cause."""
    flagged = []
    for row in rows:
        lost = row.errors + row.dropped
        ratio = lost / row.requests if row.requests else 0.0
        if ratio <= ERROR_FLAG_RATIO:
            continue
        flagged.append((row.consumer, row.algorithm, ratio))
        causes = Counter(
            (r.error or r.status.value)
            for r in run.results
            if r.consumer == row.consumer and r.algorithm == row.algorithm and not r.is_answered
        )
        cause, count = causes.most_common(1)[0] if causes else ("-", 0)
        cause = cause if len(cause) <= CAUSE_CHARS else cause[: CAUSE_CHARS - 3] + "..."  # requests.csv has all
        console.print(
            f"[bold red]! {row.consumer} x {row.algorithm}: {ratio:.0%} of {row.requests} request(s) without an "
            f"answer[/] (above {ERROR_FLAG_RATIO:.0%}); most often ({count}): {cause}"
        )
    return flagged


def print_violations(console: Console, platform: Platform, observation: ObservedRun) -> None:
    """The first violation of each consumer and clause, with its explanation: what an operator reads first."""
    seen: set[tuple[str, str]] = set()
    for violation in platform.observation.store.list_violations(observation.app, observation.run):
        key = (violation.consumer, violation.clause)
        if key in seen:
            continue
        seen.add(key)
        words = clause_in_words(violation.metric, violation.operator, violation.threshold)
        who = "all consumers" if violation.consumer == ALL_CONSUMERS else violation.consumer
        console.print(
            f"  [bold]{who}[/] broke [bold]{words}[/] ({violation.action.value}): "
            f"{violation.explanation}"
        )


def print_failure(console: Console, run: RunResult, service: str, model: str) -> None:
    mine = [e for e in run.events if service in str(e.get("event", ""))]
    for event in mine:
        code = event.get("exit_code")
        extra = f", exit code {code}" if code is not None else ""
        console.print(f"  {timeline_at(event):6.1f} s  {event['event']}{extra}")
    # `failed` (refused, reset) rather than `late`: a late member is the deadline's doing, not the crash's.
    hit = [r for r in run.results if model in r.failed]
    served = sum(r.is_answered for r in hit)
    console.print(
        f"while {service} was down, [bold]{len(hit)}[/] request(s) had {model} as a member: {served} answered by "
        f"the other members, {len(hit) - served} without an answer"
    )
    if not any("healthy" in str(e.get("event", "")) for e in mine):
        console.print(f"[yellow]{service} was not healthy again before the end of the run[/]")


def timeline_at(event: dict[str, object]) -> float:
    at = event.get("at_s")
    return float(at) if isinstance(at, int | float) else 0.0
