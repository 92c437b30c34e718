"""What a recorded run is once read: queries, the member inferences behind them, and the consumers' feedback.

Both on-disk formats (the IoT-journal traces and rohe's own requests.csv) are read into these records, so the
figures and the calibration are written once. Times are seconds; `time_s` counts from the run's first query.
Classes are names (strings) as the files give them: the IoT-journal feedback mixes names with numeric ids and
nothing in the files maps one onto the other, so they are kept apart rather than guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rohe.experiments.traces.issues import Issues


@dataclass(frozen=True)
class TraceQuery:
    query_id: str
    time_s: float
    late: bool
    members: int  # member inferences the query used (as recorded)
    served: str | None  # the class the pipeline answered; None if it gave none
    budget_s: float | None = None  # time the query had left for inference, when recorded
    latency_s: float | None = None  # end-to-end, when recorded (rohe runs)
    member_ids: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    member_models: tuple[str, ...] = ()  # when only the model names are recorded (rohe runs)


@dataclass(frozen=True)
class TraceMember:
    inference_id: str
    query_id: str
    model: str
    device: str
    source: str
    response_s: float
    predicted: str | None
    instance: str = ""


@dataclass
class TraceRun:
    """One recorded run folder."""

    name: str
    path: Path
    format: str
    queries: list[TraceQuery]
    members: list[TraceMember]
    feedback: dict[str, str]  # query id -> ground-truth class as written
    issues: Issues = field(default_factory=Issues)
    profiles: Path | None = None  # a profile catalog recorded next to the rows (rohe runs)

    def query_ids(self) -> set[str]:
        return {q.query_id for q in self.queries}
