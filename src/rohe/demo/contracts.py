"""The demo's consumer contracts, fitted to the machine the demo runs on.

The example contracts state a deadline and a cost ceiling in absolute units. On a busy two-core machine the
HTTP-measured latencies can exceed the deadline of every model, and the cost per request (the replica's price
times the seconds a request keeps it busy) grows with them past the ceiling: nothing could then satisfy the
contract and the comparison between algorithms would show only errors. So, after profiling, the demo relaxes
exactly the machine-dependent bounds, and says so:

- a deadline below HEADROOM x the fastest model's p99 is raised to that, rounded up to 5 ms; for a multimodal
  pipeline, whose deadline the gateway splits over the modalities, it is raised until every modality's share
  holds HEADROOM x the fastest p99 among that modality's models;
- if still no ensemble satisfies the contract, each violated cost ceiling (and the cost objective's range with
  it) is raised to HEADROOM x the cost of the nearest-feasible ensemble.

Quality bounds (accuracy, miss rate, confidence) are never touched: they do not depend on the machine. A
contract that is still unsatisfiable is served by the scheduler's stated best-effort fallback.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from rohe.core.contracts import ConsumerContract, MetricKind
from rohe.core.errors import NotFound
from rohe.core.profiles import Metric, ProfileCatalog
from rohe.serving.gateway.consumers import modality_need
from rohe.serving.pipeline import modality_budgets
from rohe.serving.scheduling import nearest_feasible
from rohe.serving.selection import RoheEnsemble

HEADROOM = 1.5  # the gateway's own overhead and the jitter of a shared machine on top of the profiled p99


@dataclass(frozen=True)
class FittedContract:
    contract: ConsumerContract
    changes: tuple[str, ...]  # what was relaxed, in words; empty when the file's contract is satisfiable here
    satisfiable: bool  # after the changes; False: the scheduler's best-effort fallback serves it


def _satisfiable(contract: ConsumerContract, catalog: ProfileCatalog) -> bool:
    try:
        RoheEnsemble().search(contract, catalog)
    except NotFound:
        return False
    return True


def _round_up(value: float, digits: int = 2) -> float:
    if value <= 0:
        return value
    step = 10 ** (math.floor(math.log10(value)) - digits + 1)
    return float(math.ceil(value / step) * step)


def _fastest_p99(catalog: ProfileCatalog, models: Sequence[str] | None) -> float | None:
    p99 = catalog.values[:, :, Metric.LATENCY_P99_MS]
    usable = catalog.available & ~np.isnan(p99)
    if models is not None:
        rows = np.isin(np.asarray(catalog.models), list(models))
        usable &= rows[:, None]
    known = p99[usable]
    return float(known.min()) if known.size else None


def _multimodal_deadline(
    contract: ConsumerContract, catalog: ProfileCatalog, modalities: Mapping[str, Sequence[str]]
) -> tuple[float, str] | None:
    """The smallest deadline (5 ms steps) whose split over the modalities, as the gateway makes it
    (rohe.serving.pipeline.modality_budgets), gives each modality HEADROOM x its fastest model's p99."""
    allowed = {
        name: [m for m in models if contract.models is None or m in contract.models]
        for name, models in modalities.items()
    }
    fastest = {name: _fastest_p99(catalog, models) for name, models in allowed.items() if models}
    if not fastest or any(v is None for v in fastest.values()):
        return None
    targets = {name: HEADROOM * float(v) for name, v in fastest.items() if v is not None}
    needs = {name: modality_need(contract, catalog, allowed[name]) for name in targets}

    def enough(deadline_ms: float) -> bool:
        budgets = modality_budgets(deadline_ms, needs, contract.modality_budgets)
        return all(budgets[name] >= target for name, target in targets.items())

    steps = math.ceil(math.fsum(targets.values()) / 5.0)
    while not enough(5.0 * steps):  # the split can hold a modality at its share: grow until every one fits
        steps *= 2
    low = 0  # bisect on 5 ms steps: `enough` only grows with the deadline
    while steps - low > 1:
        middle = (low + steps) // 2
        low, steps = (low, middle) if enough(5.0 * middle) else (middle, steps)
    high = 5.0 * steps
    slowest = max(targets, key=lambda name: targets[name])
    return high, f"the {slowest} modality's fastest model has p99 {fastest[slowest]:.1f} ms here"


def _fit_deadline(
    contract: ConsumerContract, catalog: ProfileCatalog, modalities: Mapping[str, Sequence[str]] | None
) -> tuple[ConsumerContract, list[str]]:
    if contract.deadline_ms is None:
        return contract, []
    if modalities is not None and len(modalities) > 1:
        fitted = _multimodal_deadline(contract, catalog, modalities)
        if fitted is None:
            return contract, []
        needed, why = fitted
    else:
        fastest = _fastest_p99(catalog, None)
        if fastest is None:
            return contract, []
        needed = math.ceil(HEADROOM * fastest / 5.0) * 5.0
        why = f"fastest model's p99 here is {fastest:.1f} ms"
    if contract.deadline_ms >= needed:
        return contract, []
    note = f"deadline {contract.deadline_ms:g} ms -> {needed:g} ms ({why})"
    return contract.model_copy(update={"deadline_ms": needed}), [note]


def _fit_cost(contract: ConsumerContract, catalog: ProfileCatalog) -> tuple[ConsumerContract, list[str]]:
    if _satisfiable(contract, catalog):
        return contract, []
    nearest = nearest_feasible(contract, catalog)
    if nearest is None:
        return contract, []
    rate = contract.required_throughput
    values = catalog.values
    # The same cost the selection derives: replicas x price per second + cost per request x required rate.
    reached = sum(
        float(values[m, n, Metric.COST_BASE]) * math.ceil(rate / float(values[m, n, Metric.THROUGHPUT_RPS]))
        + float(np.nan_to_num(values[m, n, Metric.COST_PER_REQUEST])) * rate
        for m, n in nearest.members
    )
    notes: list[str] = []
    constraints = []
    factor = 1.0
    for constraint in contract.constraints:
        if constraint.metric is MetricKind.COST and constraint.max is not None and constraint.max < reached:
            raised = _round_up(HEADROOM * reached)
            factor = max(factor, raised / constraint.max)
            notes.append(f"cost ceiling {constraint.max:g}/s -> {raised:g}/s (cheapest ensemble here: {reached:.3g}/s)")
            constraint = constraint.model_copy(update={"max": raised})
        constraints.append(constraint)
    if not notes:
        return contract, []
    # The cost objective's range moves with the ceiling, so cost keeps weighing in the score as it did.
    objectives = tuple(
        o.model_copy(update={"max": o.max * factor}) if o.metric is MetricKind.COST else o for o in contract.objectives
    )
    return contract.model_copy(update={"constraints": tuple(constraints), "objectives": objectives}), notes


def fit_contract(
    contract: ConsumerContract, catalog: ProfileCatalog, modalities: Mapping[str, Sequence[str]] | None = None
) -> FittedContract:
    """`modalities` (name -> models) of a multimodal pipeline: its deadline is split over them (late fusion)."""
    fitted, deadline_notes = _fit_deadline(contract, catalog, modalities)
    fitted, cost_notes = _fit_cost(fitted, catalog)
    # Re-validate: model_copy does not, and the fitted contract is written out and read back by observation.
    checked = ConsumerContract.model_validate(fitted.model_dump(mode="json"))
    return FittedContract(checked, (*deadline_notes, *cost_notes), _satisfiable(checked, catalog))


def write_contracts(
    contracts: Sequence[ConsumerContract], folder: Path, names: Sequence[str] | None = None
) -> list[Path]:
    """One YAML file per contract (what the gateway serves and the observation agent judges), named by
    consumer unless `names` are given."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for contract, name in zip(contracts, names or [c.consumer for c in contracts], strict=True):
        path = folder / f"{name}.yaml"
        document = contract.model_dump(mode="json", exclude_none=True)
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        paths.append(path)
    return paths
