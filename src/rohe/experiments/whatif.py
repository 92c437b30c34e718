"""What-if: replay a stored observation window under another scheduler (or placement) and judge the contract.

The observation store keeps per-window aggregates, not single requests, so the replay is rebuilt from them:
- load: Poisson arrivals at the window's observed rate (requests / covered seconds), seeded;
- models: a catalog with one node type, `observed`, whose p50/p95/p99 are the request-weighted means of the
  windows' per-model percentiles and whose accuracy is the labelled-weighted mean (per class when the
  windows carry class names, the model's overall accuracy on every class otherwise);
- instances: one per observed model without queueing (the observed latencies already include the real
  waiting), or with `placement`, the models placed on `nodes` synthetic nodes and queueing on.
The contract holds when the replay's p99 latency is within the deadline (and the SLO's p99 when it has one)
and, when the SLO sets an accuracy floor and accuracy is known, the replay's accuracy is at least that.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from rohe.core.contracts import ConsumerContract
from rohe.core.errors import InvalidInput, NotFound, Problem
from rohe.core.profiles import ModelProfile, ProfileCatalog
from rohe.experiments.rows import from_records
from rohe.experiments.summary import ArmSummary, summarise
from rohe.observation.metrics import ALL_CONSUMERS, WindowMetrics
from rohe.observation.store import ObservationStore
from rohe.simulation import (
    ClusterSpec,
    ProfileConfusion,
    ProfileServiceTime,
    SimInstance,
    SimQuery,
    SimulationSetup,
    arrivals,
    place_instances,
    simulate,
)

NODE_TYPE = "observed"


@dataclass(frozen=True)
class Check:
    clause: str
    value: float | None
    limit: float
    holds: bool | None  # None: not judged (the value is unknown)


@dataclass
class WhatIf:
    app: str
    consumer: str
    windows: int
    seconds: float
    requests: int
    observed_p99_ms: float | None
    observed_accuracy: float | None
    scheduler: str
    placement: str | None
    simulated: ArmSummary
    accuracy_known: bool
    checks: list[Check]

    @property
    def holds(self) -> bool:
        return all(c.holds is not False for c in self.checks)


def _recent(store: ObservationStore, app: str, run: str | None, consumer: str, window_s: float) -> list[WindowMetrics]:
    windows = store.list_windows(app, run, consumer=consumer)
    if not windows and consumer != ALL_CONSUMERS:
        windows = store.list_windows(app, run, consumer=ALL_CONSUMERS)
    if not windows:
        raise NotFound(
            "no stored windows", [Problem("app", f"{app!r} has no metric windows", "run its observation agent first")]
        )
    latest = max(w.end for w in windows)
    return [w for w in windows if w.end > latest - timedelta(seconds=window_s) and w.requests > 0]


def _weighted(pairs: list[tuple[float, float]]) -> float | None:
    total = sum(w for _, w in pairs)
    return None if total <= 0 else sum(v * w for v, w in pairs) / total


def catalog_from_windows(windows: list[WindowMetrics]) -> tuple[ProfileCatalog, bool]:
    names = sorted({name for w in windows for name in w.class_accuracy})
    classes = {i: n for i, n in enumerate(names)} or {0: "unlabelled"}
    models = sorted({m for w in windows for m in w.models})
    fallback = _weighted([(w.accuracy, w.labelled) for w in windows if w.accuracy is not None])
    profiles, known = [], True
    for model in models:
        stats = [w.models[model] for w in windows if model in w.models]
        timed = [s for s in stats if s.latency is not None and s.latency.count > 0]
        if not timed:
            continue
        p50, p95, p99 = (
            _weighted([(getattr(s.latency, f), s.latency.count) for s in timed if s.latency])
            for f in ("p50_ms", "p95_ms", "p99_ms")
        )
        accuracy = _weighted([(s.accuracy, s.labelled) for s in stats if s.accuracy is not None]) or fallback
        known = known and accuracy is not None
        profiles.append(
            ModelProfile(
                model=model,
                node_type=NODE_TYPE,
                latency_p50_ms=p50,
                latency_p95_ms=max(p95 or 0.0, p50 or 0.0),
                latency_p99_ms=max(p99 or 0.0, p95 or 0.0, p50 or 0.0),
                accuracy=accuracy if accuracy is not None else 0.0,
            )
        )
    if not profiles:
        raise InvalidInput(
            "the window has no model latencies", [Problem("windows.models", "empty", "observe the model services")]
        )
    return ProfileCatalog.of(profiles, classes), known


def whatif(
    store: ObservationStore,
    app: str,
    window_s: float,
    contract: ConsumerContract,
    scheduler: str,
    *,
    run: str | None = None,
    placement: str | None = None,
    nodes: int = 1,
    seed: int = 0,
) -> WhatIf:
    windows = _recent(store, app, run, contract.consumer, window_s)
    if not windows:
        raise NotFound("no requests in the window", [Problem("window", f"{window_s:g} s", "widen the window")])
    catalog, accuracy_known = catalog_from_windows(windows)
    start, end = min(w.start for w in windows), max(w.end for w in windows)
    seconds = max((end - start).total_seconds(), 1e-3)
    requests = sum(w.requests for w in windows)
    times = arrivals("poisson", rate=requests / seconds, duration_s=seconds, seed=seed)
    rng = np.random.default_rng(seed)
    queries = [SimQuery(f"q{i:06d}", float(t), int(rng.choice(catalog.class_ids))) for i, t in enumerate(times)]
    if placement is None:
        instances = [SimInstance(m, NODE_TYPE, NODE_TYPE) for m in catalog.models]
    else:
        cluster = ClusterSpec([NODE_TYPE], nodes)
        instances = place_instances(cluster.build(), ClusterSpec.services(catalog.models), placement)
    setup = SimulationSetup(
        instances,
        contract,
        catalog,
        scheduler,
        ProfileServiceTime(catalog),
        ProfileConfusion(catalog),
        seed=seed,
        queueing=placement is not None,
    )
    rows = from_records(scheduler, 0, seed, simulate(setup, queries).records)
    simulated = summarise(rows, seed)[0]
    observed = [w.end_to_end.p99_ms for w in windows if w.end_to_end is not None]
    observed_accuracy = _weighted([(w.accuracy, w.labelled) for w in windows if w.accuracy is not None])
    return WhatIf(
        app,
        contract.consumer,
        len(windows),
        seconds,
        requests,
        max(observed) if observed else None,
        observed_accuracy,
        scheduler,
        placement,
        simulated,
        accuracy_known,
        _checks(contract, simulated, accuracy_known),
    )


def _checks(contract: ConsumerContract, simulated: ArmSummary, accuracy_known: bool) -> list[Check]:
    p99_ms = None if math.isnan(simulated.latency_p99_s) else 1000 * simulated.latency_p99_s
    checks = []
    if contract.deadline_ms is not None:
        checks.append(_at_most("p99 latency (ms) <= deadline", p99_ms, contract.deadline_ms))
    slo = contract.slo
    if slo is not None:
        checks.append(_at_most("p99 latency (ms) <= SLO", p99_ms, slo.performance_slo.response_time_p99_ms))
        clause = slo.quality_slo.builtin_metrics.get("accuracy")
        if clause is not None and clause.operator in (">=", ">"):
            value = simulated.accuracy if accuracy_known and not math.isnan(simulated.accuracy) else None
            checks.append(
                Check(
                    f"accuracy {clause.operator} SLO",
                    value,
                    clause.value,
                    None if value is None else value >= clause.value,
                )
            )
    if p99_ms is None:
        checks.append(Check("answered queries", float(simulated.answered), 1.0, False))
    return checks


def _at_most(clause: str, value: float | None, limit: float) -> Check:
    return Check(clause, value, limit, None if value is None else value <= limit)
