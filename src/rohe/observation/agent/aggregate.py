"""From the reports of one closed window to `WindowMetrics`, per consumer and for all consumers together.

Which report counts where:
- a REQUEST report without `model_id` is the gateway's aggregated report of one request: it drives requests,
  errors, partial, throughput, end-to-end latency, confidence, ensemble size and cost;
- a REQUEST report with `model_id` is one member's answer (or its failure): it drives per-model stats, and its
  stage latencies (e.g. "inference") join the window's per-stage latencies;
- a FEEDBACK report counts in the window where it arrives, judged against the remembered prediction of its
  request (a request that got no answer counts as wrong);
- a RESOURCE report counts per "service@node".
Reports without a consumer (resource samples, typically) count only in the all-consumers window.

Each pane is summarised once per consumer (a `Partial`, sealed into NumPy `Columns`) and memoised on the pane, so
a report shared by several sliding windows is looked at once; windows concatenate their panes' arrays and NumPy
does the statistics.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

from rohe.observation.agent.feedback import PredictionMemory
from rohe.observation.agent.partial import Columns, FloatArray, Labels, Partial
from rohe.observation.agent.windows import ClosedWindow, Pane
from rohe.observation.metrics import ALL_CONSUMERS, LatencyStats, ModelStats, ResourceStats, WindowMetrics
from rohe.observation.reports import Report, ReportKind

log = logging.getLogger(__name__)

WindowFunction = Callable[[Sequence[Report]], dict[str, float]]

_NO_CONSUMER = ""  # group of reports without a consumer: part of the all-consumers window only


def latency_stats(values: Sequence[float] | FloatArray) -> LatencyStats | None:
    """Count, mean, p50/p95/p99 (NumPy's linear interpolation) and max; NaN and negative values are ignored."""
    array = np.asarray(values, dtype=np.float64)
    array = array[np.isfinite(array) & (array >= 0)]
    if array.size == 0:
        return None
    p50, p95, p99 = np.percentile(array, [50.0, 95.0, 99.0])
    return LatencyStats(
        count=int(array.size),
        mean_ms=float(array.mean()),
        p50_ms=float(p50),
        p95_ms=float(p95),
        p99_ms=float(p99),
        max_ms=float(array.max()),
    )


def _mean(values: FloatArray) -> float | None:
    return float(values.mean()) if values.size else None


class WindowAggregator:
    """Turns closed windows into metrics; `unmatched_feedback` counts ground truth for forgotten requests."""

    def __init__(
        self, app: str, run: str, predictions: PredictionMemory, functions: Mapping[str, WindowFunction] | None = None
    ) -> None:
        self.app, self.run = app, run
        self.predictions = predictions
        self.functions = dict(functions or {})
        self.unmatched_feedback = 0
        self.function_errors = 0

    def metrics(self, window: ClosedWindow) -> list[WindowMetrics]:
        """One WindowMetrics for all consumers, then one per consumer seen in the window (sorted by name)."""
        groups: dict[str, list[Columns]] = defaultdict(list)
        for pane in window.panes:
            for consumer, part in self._summary(pane).items():
                groups[consumer].append(part)
        everything = Columns.merge([p for parts in groups.values() for p in parts])
        reports = window.reports if self.functions else []
        out = [self._one(window, ALL_CONSUMERS, everything, reports, count_unmatched=True)]
        for consumer in sorted(c for c in groups if c != _NO_CONSUMER):
            mine = [r for r in reports if self._consumer_of(r) == consumer]
            out.append(self._one(window, consumer, Columns.merge(groups[consumer]), mine, count_unmatched=False))
        return out

    def _summary(self, pane: Pane) -> dict[str, Columns]:
        if pane.summary_size != len(pane.reports):
            summary: dict[str, Partial] = defaultdict(Partial)
            for report in pane.reports:
                summary[self._consumer_of(report) or _NO_CONSUMER].add(report)
            pane.summary = {consumer: part.seal() for consumer, part in summary.items()}
            pane.summary_size = len(pane.reports)
        result: dict[str, Columns] = pane.summary
        return result

    def _consumer_of(self, report: Report) -> str | None:
        if report.consumer is not None or report.kind is not ReportKind.FEEDBACK:
            return report.consumer
        prediction = self.predictions.lookup(report.request_id)
        return None if prediction is None else prediction.consumer

    def _one(
        self, window: ClosedWindow, consumer: str, part: Columns, reports: Sequence[Report], count_unmatched: bool
    ) -> WindowMetrics:
        seconds = (window.end_us - window.start_us) / 1_000_000
        stages = {
            name: stats for name, values in sorted(part.stages.items()) if (stats := latency_stats(values)) is not None
        }
        overall, per_model = self._join_feedback(part.feedback, count_unmatched)
        return WindowMetrics(
            app=self.app,
            run=self.run,
            consumer=consumer,
            kind=window.kind,
            start=window.start,
            end=window.end,
            requests=part.requests,
            errors=part.errors,
            partial=part.partial,
            throughput_rps=part.requests / seconds,
            end_to_end=latency_stats(part.end_to_end),
            stages=stages,
            labelled=overall.labelled,
            accuracy=overall.correct / overall.labelled if overall.labelled else None,
            confidence_mean=_mean(part.confidence),
            class_accuracy={c: hits / n for c, (n, hits) in sorted(overall.by_predicted.items())},
            class_miss_rate={c: 1.0 - hits / n for c, (n, hits) in sorted(overall.by_true.items())},
            ensemble_size_mean=_mean(part.ensemble_sizes),
            cost_total=part.cost,
            models=_models(part, per_model),
            resources=_resources(part.resources),
            custom=self._custom(reports) if self.functions else {},
        )

    def _join_feedback(self, feedback: Sequence[Report], count_unmatched: bool) -> tuple[Labels, dict[str, Labels]]:
        overall = Labels()
        per_model: dict[str, Labels] = defaultdict(Labels)
        for report in feedback:
            prediction = self.predictions.lookup(report.request_id)
            true_class = report.true_class
            if prediction is None or true_class is None:
                self.unmatched_feedback += int(count_unmatched)
                continue
            if prediction.aggregated:
                overall.add(prediction.predicted_class, true_class)
            for model, predicted in prediction.members.items():
                per_model[model].add(predicted, true_class)
        return overall, per_model

    def _custom(self, reports: Sequence[Report]) -> dict[str, float]:
        custom: dict[str, float] = {}
        for name, function in self.functions.items():
            try:
                items: Iterable[tuple[str, object]] = dict(function(reports)).items()
            except Exception:  # a user plug-in must not stop the agent; the error is logged and counted
                self.function_errors += 1
                log.exception("window function %r failed", name)
                continue
            for key, value in items:
                number = float(value) if isinstance(value, int | float) else math.nan
                if not math.isfinite(number):
                    self.function_errors += 1
                    log.warning("window function %r returned a non-finite or non-numeric %r for %r", name, value, key)
                    continue
                custom[name if key == name else f"{name}.{key}"] = number
        return custom


def _models(part: Columns, labels: Mapping[str, Labels]) -> dict[str, ModelStats]:
    out: dict[str, ModelStats] = {}
    for model in sorted({*part.model_counts, *labels}):
        answered, late = part.model_counts.get(model, (0, 0))
        label = labels.get(model)
        out[model] = ModelStats(
            requests=answered,
            late=late,
            latency=latency_stats(part.model_latency.get(model, ())),
            labelled=label.labelled if label else 0,
            accuracy=label.correct / label.labelled if label and label.labelled else None,
        )
    return out


def _resources(samples: Mapping[str, list[tuple[float, float, float]]]) -> dict[str, ResourceStats]:
    out: dict[str, ResourceStats] = {}
    for key, rows in sorted(samples.items()):
        array = np.asarray(rows, dtype=np.float64)
        cpu, memory, gpu = array[:, 0], array[:, 1], array[:, 2]
        out[key] = ResourceStats(
            samples=len(rows),
            cpu_mean=float(cpu.mean()),
            cpu_max=float(cpu.max()),
            memory_mean=float(memory.mean()),
            memory_max=float(memory.max()),
            gpu_mean=float(gpu.mean()),
        )
    return out
