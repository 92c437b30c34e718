"""Mergeable raw material of window metrics: what one pane of reports contributes, in plain lists and counts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from rohe.observation.reports import Report, ReportKind, RequestStatus

MEMBER_LATENCY_STAGE = "inference"

FloatArray = npt.NDArray[np.float64]
_EMPTY: FloatArray = np.empty(0, dtype=np.float64)


@dataclass
class Partial:
    """Built report by report for one pane and consumer, then sealed into Columns."""

    requests: int = 0
    errors: int = 0
    partial: int = 0
    cost: float = 0.0
    end_to_end: list[float] = field(default_factory=list)
    confidence: list[float] = field(default_factory=list)
    ensemble_sizes: list[float] = field(default_factory=list)
    stages: dict[str, list[float]] = field(default_factory=dict)
    model_counts: dict[str, tuple[int, int]] = field(default_factory=dict)  # answered, late or failed
    model_latency: dict[str, list[float]] = field(default_factory=dict)
    feedback: list[Report] = field(default_factory=list)
    resources: dict[str, list[tuple[float, float, float]]] = field(default_factory=dict)

    def add(self, report: Report) -> None:
        kind = report.kind
        if kind is ReportKind.REQUEST:
            if report.model_id is None:
                self._add_request(report)
            else:
                self._add_member(report, report.model_id)
            for stage, ms in report.stage_latency_ms.items():
                values = self.stages.get(stage)
                if values is None:
                    values = self.stages[stage] = []
                values.append(ms)
        elif kind is ReportKind.FEEDBACK:
            self.feedback.append(report)
        elif report.resource is not None:
            key = f"{report.service or 'unknown'}@{report.node or 'unknown'}"
            use = report.resource
            self.resources.setdefault(key, []).append((use.cpu, use.memory, use.gpu))

    def _add_request(self, report: Report) -> None:
        self.requests += 1
        if report.status is RequestStatus.ERROR:
            self.errors += 1
        elif report.status is RequestStatus.PARTIAL:
            self.partial += 1
        if report.end_to_end_ms is not None:
            self.end_to_end.append(report.end_to_end_ms)
        if report.confidence is not None:
            self.confidence.append(report.confidence)
        self.ensemble_sizes.append(float(len(report.members)))
        if report.cost is not None:
            self.cost += report.cost

    def _add_member(self, report: Report, model: str) -> None:
        answered, late = self.model_counts.get(model, (0, 0))
        if report.status is RequestStatus.ERROR:
            self.model_counts[model] = (answered, late + 1)
            return
        self.model_counts[model] = (answered + 1, late)
        ms = report.stage_latency_ms.get(MEMBER_LATENCY_STAGE, report.end_to_end_ms)
        if ms is not None:
            self.model_latency.setdefault(model, []).append(ms)

    def seal(self) -> Columns:
        """The same content with every series as a NumPy array, cheap to concatenate across panes."""

        def array(values: list[float]) -> FloatArray:
            return np.asarray(values, dtype=np.float64)

        return Columns(
            requests=self.requests,
            errors=self.errors,
            partial=self.partial,
            cost=self.cost,
            end_to_end=array(self.end_to_end),
            confidence=array(self.confidence),
            ensemble_sizes=array(self.ensemble_sizes),
            stages={k: array(v) for k, v in self.stages.items()},
            model_counts=dict(self.model_counts),
            model_latency={k: array(v) for k, v in self.model_latency.items()},
            feedback=list(self.feedback),
            resources={k: list(v) for k, v in self.resources.items()},
        )


@dataclass
class Columns:
    """A sealed Partial: what windows merge."""

    requests: int
    errors: int
    partial: int
    cost: float
    end_to_end: FloatArray
    confidence: FloatArray
    ensemble_sizes: FloatArray
    stages: dict[str, FloatArray]
    model_counts: dict[str, tuple[int, int]]
    model_latency: dict[str, FloatArray]
    feedback: list[Report]
    resources: dict[str, list[tuple[float, float, float]]]

    @classmethod
    def merge(cls, parts: Sequence[Columns]) -> Columns:
        def joined(arrays: list[FloatArray]) -> FloatArray:
            return np.concatenate(arrays) if arrays else _EMPTY

        def by_key(maps: list[dict[str, FloatArray]]) -> dict[str, FloatArray]:
            keys = {k for m in maps for k in m}
            return {k: joined([m[k] for m in maps if k in m]) for k in keys}

        counts: dict[str, tuple[int, int]] = {}
        resources: dict[str, list[tuple[float, float, float]]] = {}
        for part in parts:
            for model, (answered, late) in part.model_counts.items():
                total = counts.get(model, (0, 0))
                counts[model] = (total[0] + answered, total[1] + late)
            for key, rows in part.resources.items():
                resources.setdefault(key, []).extend(rows)
        return cls(
            requests=sum(p.requests for p in parts),
            errors=sum(p.errors for p in parts),
            partial=sum(p.partial for p in parts),
            cost=float(sum(p.cost for p in parts)),
            end_to_end=joined([p.end_to_end for p in parts]),
            confidence=joined([p.confidence for p in parts]),
            ensemble_sizes=joined([p.ensemble_sizes for p in parts]),
            stages=by_key([p.stages for p in parts]),
            model_counts=counts,
            model_latency=by_key([p.model_latency for p in parts]),
            feedback=[r for p in parts for r in p.feedback],
            resources=resources,
        )


@dataclass
class Labels:
    """Feedback outcomes: overall, per predicted class (precision) and per true class (recall)."""

    labelled: int = 0
    correct: int = 0
    by_predicted: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    by_true: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))

    def add(self, predicted: str | None, true: str) -> None:
        hit = int(predicted == true)
        self.labelled += 1
        self.correct += hit
        self.by_true[true][0] += 1
        self.by_true[true][1] += hit
        if predicted is not None:
            self.by_predicted[predicted][0] += 1
            self.by_predicted[predicted][1] += hit
