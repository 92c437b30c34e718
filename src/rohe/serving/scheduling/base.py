"""The per-request scheduling interface and the per-consumer precomputation every algorithm plans from.

`prepare(contract, catalog)` runs once per consumer and turns the catalog into flat arrays; `plan` then only
does array lookups. A model's latency is taken from the fastest available node type it is profiled on.
An unknown p99 falls back to p95, then p50; a model with no latency at all is never deadline-feasible,
because nothing shows it can answer in time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from rohe.core.contracts import ConsumerContract
from rohe.core.contracts.model import MetricKind
from rohe.core.errors import InvalidInput, Problem
from rohe.core.profiles import Metric, ProfileCatalog
from rohe.serving.dataplane import MemberPrediction

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]

DEFAULT_CONFIDENCE_THRESHOLD = 0.8


@dataclass(frozen=True)
class ModelView:
    """Per-model arrays for one set of available node types (index = catalog model index)."""

    usable: BoolArray
    node: IntArray
    p50: FloatArray
    p99: FloatArray
    accuracy: FloatArray
    cost: FloatArray
    class_accuracy: FloatArray  # [model, class position]


@dataclass
class PreparedConsumer:
    """One consumer's contract against one catalog, with per-node-type views cached on first use."""

    contract: ConsumerContract
    catalog: ProfileCatalog
    allowed: BoolArray  # [model, node type]: profiled and permitted by the contract
    confidence_threshold: float
    class_position: dict[int, int]
    _views: dict[tuple[str, ...] | None, ModelView] = field(default_factory=dict, repr=False)
    # What a scheduler derives once per consumer (e.g. the rohe-ensemble choice), keyed by the scheduler.
    precomputed: dict[tuple[str, tuple[str, ...] | None], object] = field(default_factory=dict, repr=False)

    @property
    def ensemble_min(self) -> int:
        return self.contract.ensemble.min

    @property
    def ensemble_max(self) -> int:
        return self.contract.ensemble.max

    def view(self, node_types: tuple[str, ...] | None) -> ModelView:
        cached = self._views.get(node_types)
        if cached is None:
            cached = self._views[node_types] = self._build_view(node_types)
        return cached

    def _build_view(self, node_types: tuple[str, ...] | None) -> ModelView:
        mask = self.allowed.copy()
        if node_types is not None:
            wanted = [self.catalog.require_node_type(n, f"node_types[{i}]") for i, n in enumerate(node_types)]
            on_node = np.zeros(len(self.catalog.node_types), dtype=bool)
            on_node[wanted] = True
            mask &= on_node[np.newaxis, :]
        values = self.catalog.values
        latency = values[:, :, Metric.LATENCY_P99_MS]
        for fallback in (Metric.LATENCY_P95_MS, Metric.LATENCY_P50_MS):
            latency = np.where(np.isnan(latency), values[:, :, fallback], latency)
        latency = np.where(mask & ~np.isnan(latency), latency, np.inf)
        node = np.argmin(latency, axis=1)
        rows = np.arange(len(node))
        p99 = latency[rows, node]
        p50 = values[rows, node, Metric.LATENCY_P50_MS]
        accuracy = np.nan_to_num(values[rows, node, Metric.ACCURACY], nan=0.0)
        cost = np.nan_to_num(values[rows, node, Metric.COST_PER_REQUEST], nan=0.0)
        class_acc = self.catalog.class_accuracy[rows, node, :]
        class_acc = np.where(np.isnan(class_acc), accuracy[:, np.newaxis], class_acc)
        usable: BoolArray = np.asarray(mask.any(axis=1), dtype=bool)
        return ModelView(usable, node, p50, p99, accuracy, cost, class_acc)


def prepare(contract: ConsumerContract, catalog: ProfileCatalog) -> PreparedConsumer:
    """Precompute what every request of this consumer needs; run it once per consumer, not per request."""
    allowed = catalog.available.copy()
    if contract.models is not None:
        keep = [catalog.require_model(m, f"contract.models[{i}]") for i, m in enumerate(contract.models)]
        by_model = np.zeros(len(catalog.models), dtype=bool)
        by_model[keep] = True
        allowed &= by_model[:, np.newaxis]
    if contract.node_types is not None:
        keep = [catalog.require_node_type(n, f"contract.node_types[{i}]") for i, n in enumerate(contract.node_types)]
        by_node = np.zeros(len(catalog.node_types), dtype=bool)
        by_node[keep] = True
        allowed &= by_node[np.newaxis, :]
    thresholds = [
        c.min for c in contract.constraints if c.metric is MetricKind.CONFIDENCE and c.min is not None and not c.classes
    ]
    threshold = max(thresholds) if thresholds else DEFAULT_CONFIDENCE_THRESHOLD
    positions = {c: i for i, c in enumerate(catalog.class_ids)}
    return PreparedConsumer(contract, catalog, allowed, threshold, positions)


@dataclass(frozen=True)
class RequestContext:
    """One request as the scheduler sees it. `node_types` None means every node type the contract allows."""

    consumer: PreparedConsumer
    remaining_ms: float
    rng: np.random.Generator
    node_types: tuple[str, ...] | None = None
    ground_truth: int | None = None  # class id; only the oracle may look at it
    oldest_waiting_ms: float = 0.0  # age of this consumer's oldest queued request

    def __post_init__(self) -> None:
        if not self.remaining_ms > 0:
            raise InvalidInput(
                "request has no time left",
                [Problem("remaining_ms", f"must be > 0, got {self.remaining_ms}", "drop or reject the request")],
            )
        if self.oldest_waiting_ms < 0:
            raise InvalidInput(
                "negative waiting age", [Problem("oldest_waiting_ms", f"got {self.oldest_waiting_ms}", "use >= 0")]
            )


@dataclass(frozen=True)
class MemberTask:
    model: str
    node_type: str
    budget_ms: float


@runtime_checkable
class Phase1Rule(Protocol):
    def after(self, phase0_predictions: list[MemberPrediction]) -> list[str]: ...


@dataclass(frozen=True)
class ExecutionPlan:
    """Phase-0 members in dispatch order, an optional rule for a second phase, and a dispatch priority.

    An empty phase 0 means no model can answer within the deadline. `breach` is set when the plan knowingly
    serves outside the consumer's contract (a stated fallback, see scheduling/fallback.py) and says why.
    """

    scheduler: str
    phase0: tuple[MemberTask, ...]
    phase1: Phase1Rule | None = None
    priority: float = 0.0
    breach: str | None = None

    @property
    def members(self) -> list[str]:
        return [t.model for t in self.phase0]


@runtime_checkable
class RequestScheduler(Protocol):
    name: str

    def plan(self, request: RequestContext) -> ExecutionPlan: ...


def feasible(view: ModelView, remaining_ms: float) -> BoolArray:
    return view.usable & (view.p99 <= remaining_ms)


def budgets(view: ModelView, chosen: IntArray, remaining_ms: float) -> FloatArray:
    """Share the remaining deadline in proportion to p99, clamp to [p50, p99], then shrink to fit the total.

    The final shrink wins over the p50 floor: the sum never exceeds the remaining deadline.
    """
    if len(chosen) == 0:
        return np.zeros(0)
    need = view.p99[chosen]
    weight = np.where(np.isfinite(need), need, 1.0)
    share = remaining_ms * weight / weight.sum()
    upper = np.where(np.isfinite(need), need, share)
    lower = np.fmin(np.nan_to_num(view.p50[chosen], nan=0.0), upper)
    result = np.clip(share, lower, upper)
    total = result.sum()
    if total > remaining_ms:
        result *= remaining_ms / total
    return np.asarray(result, dtype=np.float64)


def make_plan(
    name: str,
    request: RequestContext,
    view: ModelView,
    chosen: IntArray | Sequence[int],
    phase1: Phase1Rule | None = None,
    priority: float = 0.0,
    breach: str | None = None,
) -> ExecutionPlan:
    order = np.asarray(chosen, dtype=np.intp)
    shares = budgets(view, order, request.remaining_ms)
    catalog = request.consumer.catalog
    tasks = tuple(
        MemberTask(catalog.models[m], catalog.node_types[view.node[m]], float(b))
        for m, b in zip(order.tolist(), shares.tolist(), strict=True)
    )
    return ExecutionPlan(name, tasks, phase1, priority, breach)
