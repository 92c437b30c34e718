"""Calibrating the simulator from recorded runs: who is slow where, who is right on what, and when queries came.

From IoT-journal traces (all runs given are pooled, since they ran on the same devices and models):
- service time: the recorded member response times per (model, device), drawn with replacement
  (`EmpiricalServiceTime`); the catalog the schedulers plan from gets their p50/p95/p99, and a throughput of
  1 / mean response time (one request at a time: the traces measure no throughput).
- predictions: every member row whose query has feedback is a (model, true class, predicted class) sample;
  per-model per-class accuracy is their share of hits, a model with no labelled sample gets the pooled
  accuracy of all models, and `ProfileConfusion` (the simulator's) draws from that.
- classes: every name seen in answers or feedback, sorted, numbered from 0; numeric feedback ids stay
  names of their own (nothing in the files maps them).
- queries: the base run's queries at their recorded times; a query without feedback gets a true class drawn
  (seeded) from the feedback's class frequencies; each query keeps its recorded inference budget as its own deadline.
- instances: one per recorded (model, device). The recorded response times already hold whatever waiting
  the real system had (and `instance_id` changes from inference to inference, so it names no replica), so a
  trace replay runs without simulated queueing by default.
From rohe runs: the profiles.csv recorded next to requests.csv is the catalog (`ProfileServiceTime`).
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from rohe.core.errors import InvalidInput, Problem
from rohe.core.profiles import ModelProfile, ProfileCatalog, load_catalog
from rohe.experiments.traces import TraceRun
from rohe.simulation import (
    PredictionModel,
    ProfileConfusion,
    ProfileServiceTime,
    ServiceTimeModel,
    SimInstance,
    SimQuery,
)

FloatArray = npt.NDArray[np.float64]


class EmpiricalServiceTime:
    """Recorded response times per (model, node type), resampled with replacement."""

    def __init__(self, samples: dict[tuple[str, str], list[float]]) -> None:
        self.samples = {key: np.asarray(values, dtype=np.float64) for key, values in samples.items() if values}

    def sample(self, model: str, node_type: str, rng: np.random.Generator) -> float:
        values = self.samples.get((model, node_type))
        if values is None:
            raise InvalidInput(
                "no recorded response time",
                [Problem(f"{model}@{node_type}", "never answered in the traces", "replay only recorded pairs")],
            )
        return float(values[rng.integers(len(values))])

    def sample_many(self, model: str, node_type: str, count: int, rng: np.random.Generator) -> FloatArray:
        """`count` draws at once (the simulator fills its buffers with it; same distribution as `sample`)."""
        self.sample(model, node_type, rng)  # the same error for an unrecorded pair
        values = self.samples[(model, node_type)]
        return values[rng.integers(len(values), size=count)]


@dataclass
class Calibration:
    catalog: ProfileCatalog
    service_time: ServiceTimeModel
    prediction: PredictionModel
    instances: list[SimInstance]
    queries: list[SimQuery]
    budgets_s: dict[str, float]  # per query id, when the traces record one
    class_names: dict[int, str]
    notes: list[str] = field(default_factory=list)

    @property
    def median_budget_ms(self) -> float | None:
        return 1000 * statistics.median(self.budgets_s.values()) if self.budgets_s else None


def calibrate(runs: list[TraceRun], base: TraceRun, seed: int = 0) -> Calibration:
    if base.format == "rohe-requests":
        return _from_rohe(base, seed)
    return _from_iot_journal(runs, base, seed)


def _class_ids(runs: list[TraceRun]) -> dict[str, int]:
    names: set[str] = set()
    for run in runs:
        names.update(run.feedback.values())
        names.update(q.served for q in run.queries if q.served is not None)
        names.update(m.predicted for m in run.members if m.predicted is not None)
    return {name: i for i, name in enumerate(sorted(names))}


def _from_iot_journal(runs: list[TraceRun], base: TraceRun, seed: int) -> Calibration:
    ids = _class_ids(runs)
    times: dict[tuple[str, str], list[float]] = {}
    hits: dict[str, dict[int, list[bool]]] = {}
    for run in runs:
        for m in run.members:
            times.setdefault((m.model, m.device), []).append(m.response_s)
            truth = run.feedback.get(m.query_id)
            if truth is not None and m.predicted is not None:
                hits.setdefault(m.model, {}).setdefault(ids[truth], []).append(m.predicted == truth)
    if not times:
        raise InvalidInput(
            "nothing to calibrate from",
            [Problem(str(base.path), "no member rows with a response time", "give runs with monitoring_report.csv")],
        )
    pooled = [h for per_class in hits.values() for values in per_class.values() for h in values]
    notes = [f"{len(pooled)} labelled member predictions across {len(hits)} models"]
    if not pooled:
        raise InvalidInput(
            "no labelled member predictions",
            [Problem("consumer_feedback.csv", "no feedback joins a member row", "give runs with feedback")],
        )
    pooled_accuracy = sum(pooled) / len(pooled)
    profiles = []
    for (model, device), values in sorted(times.items()):
        ms = np.asarray(values) * 1000
        p50, p95, p99 = (float(v) for v in np.percentile(ms, [50, 95, 99]))
        per_class = hits.get(model, {})
        labelled = [h for values_ in per_class.values() for h in values_]
        profiles.append(
            ModelProfile(
                model=model,
                node_type=device,
                latency_p50_ms=p50,
                latency_p95_ms=p95,
                latency_p99_ms=p99,
                throughput_rps=1000 / float(ms.mean()),
                accuracy=sum(labelled) / len(labelled) if labelled else pooled_accuracy,
                class_accuracy={c: sum(v) / len(v) for c, v in per_class.items()},
            )
        )
    missing = sorted({p.model for p in profiles} - set(hits))
    if missing:
        notes.append(f"{len(missing)} models had no labelled sample and got the pooled accuracy {pooled_accuracy:.4f}")
    catalog = ProfileCatalog.of(profiles, {i: name for name, i in ids.items()})
    queries, budgets = _queries(base, ids, seed)
    sim_instances = [SimInstance(model, device, device) for model, device in sorted(times)]
    return Calibration(
        catalog,
        EmpiricalServiceTime(times),
        ProfileConfusion(catalog),
        sim_instances,
        queries,
        budgets,
        dict(catalog.classes),
        notes,
    )


def _queries(base: TraceRun, ids: dict[str, int], seed: int) -> tuple[list[SimQuery], dict[str, float]]:
    rng = np.random.default_rng(seed)
    frequencies = Counter(ids[t] for t in base.feedback.values() if t in ids)
    classes = sorted(frequencies)
    weights = np.asarray([frequencies[c] for c in classes], dtype=np.float64)
    queries: list[SimQuery] = []
    budgets: dict[str, float] = {}
    for q in sorted(base.queries, key=lambda q: (q.time_s, q.query_id)):
        truth = base.feedback.get(q.query_id)
        if truth is not None and truth in ids:
            true_class = ids[truth]
        elif classes:
            true_class = int(classes[int(rng.choice(len(classes), p=weights / weights.sum()))])
        else:
            raise InvalidInput(
                "no feedback to draw true classes from",
                [Problem(str(base.path), "consumer feedback is empty", "give a run with feedback")],
            )
        budget = q.budget_s if q.budget_s is not None and q.budget_s > 0 else None
        queries.append(SimQuery(q.query_id, q.time_s, true_class, budget))
        if budget is not None:
            budgets[q.query_id] = budget
    return queries, budgets


def _from_rohe(base: TraceRun, seed: int) -> Calibration:
    if base.profiles is None:
        raise InvalidInput(
            "a rohe run needs its profiles to be replayed",
            [
                Problem(
                    str(base.path / "profiles.csv"), "is missing", "copy the run's profiles.csv next to requests.csv"
                )
            ],
        )
    catalog = load_catalog(base.profiles)
    ids = {name: c for c, name in catalog.classes.items()} | {str(c): c for c in catalog.class_ids}
    queries, budgets = _queries(base, ids, seed)
    instances = [
        SimInstance(model, node_type, node_type)
        for m, model in enumerate(catalog.models)
        for n, node_type in enumerate(catalog.node_types)
        if catalog.available[m, n]
    ]
    return Calibration(
        catalog,
        ProfileServiceTime(catalog),
        ProfileConfusion(catalog),
        instances,
        queries,
        budgets,
        dict(catalog.classes),
        ["service times from the run's profiles.csv (member latencies are not in requests.csv)"],
    )
