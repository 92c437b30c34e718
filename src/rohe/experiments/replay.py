"""Counterfactual replay: the same recorded query sequence under every scheduler, through rohe.simulation.

The traces are calibrated once (see calibration.py); each scheduler is then the registry's own code planning
every query of the base run inside the simulator, with the recorded per-(model, device) response times and a
prediction model fitted to the labelled member rows. The recorded runs themselves become arms too
(`recorded:<arm>`), so the table shows what happened next to what would have happened on the same queries.

What a replay can conclude: how the schedulers' choices interact with the recorded latency distributions
and budgets (late ratio, members, cost) on an identical query sequence. What it cannot: anything the traces
do not hold - load effects the recording did not see (replays run without queueing by default, since the
recorded times already include the real waiting), and accuracy when the feedback cannot be joined to the
answers (then the prediction model is as untrustworthy as the files; the figures say so).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rohe.core.contracts import ConsumerContract
from rohe.experiments.calibration import Calibration, calibrate
from rohe.experiments.figures import RunFigures, run_figures
from rohe.experiments.rows import Row, from_records
from rohe.experiments.traces import TraceRun
from rohe.serving.scheduling import available_schedulers
from rohe.simulation import SimulationSetup, simulate

RECORDED = "recorded:"
DEFAULT_ENSEMBLE_MAX = 3


def default_contract(calibration: Calibration, ensemble_max: int = DEFAULT_ENSEMBLE_MAX) -> ConsumerContract:
    """The contract a replay plans with when none is given: accuracy first, up to `ensemble_max` members,
    the median recorded budget as deadline (each query still keeps its own), the recorded arrival rate."""
    arrivals = [q.arrival_s for q in calibration.queries]
    span = max(arrivals) - min(arrivals) if len(arrivals) > 1 else 1.0
    rate = max(len(arrivals) / span, 1e-6) if span > 0 else float(len(arrivals))
    return ConsumerContract.model_validate(
        {
            "consumer": "replay",
            "ensemble": {"min": 1, "max": ensemble_max},
            "required_throughput": rate,
            "deadline_ms": calibration.median_budget_ms or 1000.0,
            "objectives": [{"metric": "accuracy", "direction": "maximize", "min": 0.0, "max": 1.0}],
        }
    )


def replay_schedulers() -> list[str]:
    return available_schedulers()


def recorded_rows(run: TraceRun, calibration: Calibration) -> list[Row]:
    # rohe runs record class ids ("3"), the IoT-journal traces names; a name wins over an id-looking string.
    ids = {str(c): c for c in calibration.class_names} | {name: c for c, name in calibration.class_names.items()}
    rows = []
    for q in sorted(run.queries, key=lambda q: (q.time_s, q.query_id)):
        truth = run.feedback.get(q.query_id)
        served = ids.get(q.served, -1) if q.served is not None else -1
        correct = None if truth is None or q.served is None else q.served == truth
        rows.append(
            Row(
                f"{RECORDED}{run.name}",
                0,
                0,
                q.query_id,
                q.time_s,
                q.latency_s if q.latency_s is not None else math.nan,
                q.budget_s if q.budget_s is not None else math.nan,
                q.served is not None,
                q.late,
                ids.get(truth, -1) if truth is not None else -1,
                served,
                correct,
                q.members,
                q.member_models,
                0.0,
            )
        )
    return rows


def replay_arm(
    calibration: Calibration,
    contract: ConsumerContract,
    scheduler: str,
    *,
    seed: int,
    repetition: int = 0,
    queueing: bool = False,
    aggregation: str = "majority",
    arm: str | None = None,
) -> list[Row]:
    setup = SimulationSetup(
        instances=calibration.instances,
        contract=contract,
        catalog=calibration.catalog,
        scheduler=scheduler,
        service_time=calibration.service_time,
        prediction=calibration.prediction,
        seed=seed,
        queueing=queueing,
        aggregation=aggregation,
    )
    result = simulate(setup, calibration.queries)
    return from_records(arm or scheduler, repetition, seed, result.records)


@dataclass
class ReplayResult:
    figures: list[RunFigures]
    calibration: Calibration
    contract: ConsumerContract
    base: str
    rows: list[Row]


def counterfactual(
    runs: Sequence[TraceRun],
    base: str | None,
    schedulers: Sequence[str],
    *,
    contract: ConsumerContract | None = None,
    seed: int = 0,
    repetitions: int = 1,
    queueing: bool = False,
) -> ReplayResult:
    chosen = _base(runs, base)
    calibration = calibrate(list(runs), chosen, seed)
    planned = contract or default_contract(calibration)
    rows: list[Row] = []
    for run in runs:
        rows.extend(recorded_rows(run, calibration))
    for scheduler in schedulers:
        for repetition in range(repetitions):
            rows.extend(
                replay_arm(
                    calibration, planned, scheduler, seed=seed + repetition, repetition=repetition, queueing=queueing
                )
            )
    return ReplayResult([run_figures(r) for r in runs], calibration, planned, chosen.name, rows)


def _base(runs: Sequence[TraceRun], base: str | None) -> TraceRun:
    from rohe.core.errors import InvalidInput, Problem

    if base is None:
        return runs[0]
    for run in runs:
        if run.name == base:
            return run
    raise InvalidInput(
        "unknown base arm",
        [Problem("base", f"{base!r} is not an arm", f"use one of: {', '.join(r.name for r in runs)}")],
    )
