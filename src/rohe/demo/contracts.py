"""The demo's consumer contracts, fitted to the machine the demo runs on.

The example contracts state a deadline and a cost ceiling in absolute units. On a busy two-core machine the
HTTP-measured latencies can exceed the deadline of every model, and the cost per request (the replica's price
times the seconds a request keeps it busy) grows with them past the ceiling: nothing could then satisfy the
contract and the comparison between algorithms would show only errors. So, after profiling, the demo relaxes
exactly the machine-dependent bounds, and says so:

- a deadline below HEADROOM x the fastest model's p99 is raised to that, rounded up to 5 ms;
- if still no ensemble satisfies the contract, each violated cost ceiling (and the cost objective's range with
  it) is raised to HEADROOM x the cost of the nearest-feasible ensemble.

Quality bounds (accuracy, miss rate, confidence) are never touched: they do not depend on the machine. A
contract that is still unsatisfiable is served by the scheduler's stated best-effort fallback.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from rohe.core.contracts import ConsumerContract, MetricKind
from rohe.core.errors import NotFound
from rohe.core.profiles import Metric, ProfileCatalog
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


def _fit_deadline(contract: ConsumerContract, catalog: ProfileCatalog) -> tuple[ConsumerContract, list[str]]:
    p99 = catalog.values[:, :, Metric.LATENCY_P99_MS]
    known = p99[catalog.available & ~np.isnan(p99)]
    if contract.deadline_ms is None or known.size == 0:
        return contract, []
    needed = math.ceil(HEADROOM * float(known.min()) / 5.0) * 5.0
    if contract.deadline_ms >= needed:
        return contract, []
    fastest = float(known.min())
    note = f"deadline {contract.deadline_ms:g} ms -> {needed:g} ms (fastest model's p99 here is {fastest:.1f} ms)"
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


def fit_contract(contract: ConsumerContract, catalog: ProfileCatalog) -> FittedContract:
    fitted, deadline_notes = _fit_deadline(contract, catalog)
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
