"""The candidate space of a contract over a catalog, and its dense per-member value matrices."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rohe.core.contracts import Aggregation, ConsumerContract, MetricKind
from rohe.core.contracts.model import _MetricRef
from rohe.core.errors import NotFound, Problem
from rohe.core.profiles import Metric, ProfileCatalog
from rohe.core.profiles.catalog import FloatArray


@dataclass(frozen=True)
class CandidateSpace:
    """Allowed models and node types (catalog order) and, per objective/constraint, a models x nodes matrix."""

    model_ids: tuple[int, ...]
    node_ids: tuple[int, ...]
    replicas: FloatArray
    objective_values: tuple[FloatArray, ...]
    constraint_values: tuple[FloatArray, ...]
    cost: FloatArray


def allowed_indices(contract: ConsumerContract, catalog: ProfileCatalog) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Validate every name the contract uses against the catalog; InvalidInput names the field."""
    for i, objective in enumerate(contract.objectives):
        for c in objective.classes:
            catalog.class_index(c, f"objectives[{i}].classes")
    for i, constraint in enumerate(contract.constraints):
        for c in constraint.classes:
            catalog.class_index(c, f"constraints[{i}].classes")
    if contract.models is None:
        models = tuple(range(len(catalog.models)))
    else:
        chosen = {catalog.require_model(m, f"models[{i}]") for i, m in enumerate(contract.models)}
        models = tuple(sorted(chosen))
    if contract.node_types is None:
        nodes = tuple(range(len(catalog.node_types)))
    else:
        chosen = {catalog.require_node_type(n, f"node_types[{i}]") for i, n in enumerate(contract.node_types)}
        nodes = tuple(sorted(chosen))
    return models, nodes


def no_feasible(contract: ConsumerContract) -> NotFound:
    return NotFound(
        "no ensemble satisfies the contract",
        [
            Problem(
                "ensemble",
                f"no {contract.ensemble.min}..{contract.ensemble.max} members have every needed metric profiled "
                "and meet every constraint",
                "profile more models, relax the constraints or the deadline, or widen the ensemble range",
            )
        ],
    )


def _member_matrix(ref: _MetricRef, catalog: ProfileCatalog, replicas: FloatArray, cost: FloatArray) -> FloatArray:
    values = catalog.values
    if ref.metric is MetricKind.MISS_RATE:  # the bound scoring.member_value explains
        missed: FloatArray = 1.0 - catalog.class_accuracy[:, :, catalog.class_index(ref.classes[0])]
        return missed
    if ref.metric in (MetricKind.ACCURACY, MetricKind.CONFIDENCE) and ref.classes:
        table = catalog.class_confidence if ref.metric is MetricKind.CONFIDENCE else catalog.class_accuracy
        total: FloatArray | None = None
        for c in ref.classes:
            column = table[:, :, catalog.class_index(c)]
            total = column if total is None else total + column
        assert total is not None
        return total / len(ref.classes)
    if ref.metric is MetricKind.ACCURACY:
        return values[:, :, Metric.ACCURACY]
    if ref.metric is MetricKind.CONFIDENCE:
        return values[:, :, Metric.CONFIDENCE]
    if ref.metric is MetricKind.RESPONSE_TIME_P99:
        return values[:, :, Metric.LATENCY_P99_MS]
    if ref.metric is MetricKind.THROUGHPUT:
        return values[:, :, Metric.THROUGHPUT_RPS] * replicas
    return cost


def build_space(contract: ConsumerContract, catalog: ProfileCatalog) -> CandidateSpace:
    models, nodes = allowed_indices(contract, catalog)
    required = contract.required_throughput
    throughput = catalog.values[:, :, Metric.THROUGHPUT_RPS]
    with np.errstate(divide="ignore", invalid="ignore"):
        replicas = np.ceil(required / throughput)
    per_request = np.nan_to_num(catalog.values[:, :, Metric.COST_PER_REQUEST], nan=0.0)
    cost = replicas * catalog.values[:, :, Metric.COST_BASE] + per_request * required
    grid = np.ix_(models, nodes)

    def matrix(ref: _MetricRef) -> FloatArray:
        full = _member_matrix(ref, catalog, replicas, cost)
        # An unprofiled pair or unknown throughput makes the member unusable: NaN poisons its candidates.
        usable = catalog.available & ~np.isnan(replicas)
        return np.where(usable, full, np.nan)[grid]

    return CandidateSpace(
        model_ids=models,
        node_ids=nodes,
        replicas=replicas[grid],
        objective_values=tuple(matrix(o) for o in contract.objectives),
        constraint_values=tuple(matrix(c) for c in contract.all_constraints()),
        cost=matrix(_CostRef),
    )


_CostRef = _MetricRef(metric=MetricKind.COST, aggregate=Aggregation.SUM)
