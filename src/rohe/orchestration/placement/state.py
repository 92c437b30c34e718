"""Free capacity of a cluster as NumPy arrays, updated in place as replicas are placed and released.

One row per node, in registration order (that order is what "first" and tie-breaks mean). Per-core free
capacity is an (nodes x max_cores) matrix padded with -1, plus a copy of it with every row sorted largest
first: checking a per-core demand against every node is then one comparison of the leading columns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rohe.core.domain import Allocation, Node, Sensitivity, Service
from rohe.core.errors import InvalidInput, NotFound, Problem

# Accelerator amounts are floats (percent of a device); this absorbs rounding of repeated add/subtract.
ACCELERATOR_TOLERANCE = 1e-9
# Pads rows of nodes with fewer cores than the widest node; below any real demand (zeros are dropped).
NO_CORE = -1
_NEW = object.__new__
_SET = object.__setattr__
_STATE_SLOTS = ("__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__")
_ALL_FIELDS = set(Allocation.model_fields)

BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]


def _construct(values: dict[str, Any]) -> Allocation:
    """What `Allocation.model_construct` does for a complete set of fields, without its per-call walk over
    fields and aliases (a third of the bookkeeping per replica). Every value is derived from validated
    models. `_build_allocation` falls back to model_construct if this ever stops matching it."""
    allocation = _NEW(Allocation)
    _SET(allocation, "__dict__", values)
    # one set for all: every field is always given, and a frozen model never adds to it (copies copy it)
    _SET(allocation, "__pydantic_fields_set__", _ALL_FIELDS)
    _SET(allocation, "__pydantic_extra__", None)
    _SET(allocation, "__pydantic_private__", None)
    return allocation


def _model_construct(values: dict[str, Any]) -> Allocation:
    return Allocation.model_construct(**values)


def _pick_builder() -> Callable[[dict[str, Any]], Allocation]:
    sample: dict[str, Any] = {"node": "n", "cpu": 1, "cores": {0: 1}, "rss": 2, "vms": 3, "accelerators": {"gpu": 1.0}}
    try:
        fast, slow = _construct(dict(sample)), Allocation.model_construct(**sample)
        same = all(getattr(fast, a) == getattr(slow, a) for a in (*_STATE_SLOTS, "__dict__")) and fast == slow
        same = same and set(Allocation.__slots__) == {"__dict__", *_STATE_SLOTS}
        same = same and set(Allocation.model_fields) == set(sample) and Allocation.model_config.get("frozen") is True
    except (AttributeError, TypeError):
        same = False
    return _construct if same else _model_construct


@dataclass(frozen=True)
class NodeFree:
    """What is still free on one node. `cores` is per core index, in the node's own core order."""

    name: str
    cpu: int
    cores: tuple[int, ...]
    rss: int
    vms: int
    accelerators: dict[str, float]


@dataclass(frozen=True, eq=False)
class Demand:
    """One replica's needs, resolved once per service against the cluster's accelerator columns."""

    service: str
    cpu: int
    cores: tuple[int, ...]  # largest first, zeros dropped
    core_array: IntArray
    rss: int
    vms: int
    accelerators: dict[str, float]
    accelerator_columns: IndexArray
    accelerator_amounts: FloatArray
    missing_accelerators: tuple[str, ...]  # kinds no registered node offers at all
    selector: tuple[tuple[str, str], ...]
    spread: bool
    sensitivity: Sensitivity


class ClusterState:
    """Capacity and free capacity of every node, and which node holds replicas of which service."""

    def __init__(self, nodes: Sequence[Node]) -> None:
        self.nodes: list[Node] = list(nodes)
        self.names: list[str] = [n.name for n in self.nodes]
        self._index: dict[str, int] = {}
        for i, name in enumerate(self.names):
            if name in self._index:
                raise InvalidInput(
                    "duplicate node name in the cluster",
                    [Problem(f"nodes[{i}].name", f"'{name}' appears more than once", "give each node its own name")],
                )
            self._index[name] = i
        count = len(self.nodes)
        self.accelerator_kinds: list[str] = sorted({k for n in self.nodes for k in n.accelerators})
        self._kind_column = {kind: j for j, kind in enumerate(self.accelerator_kinds)}
        self.core_counts: IntArray = np.array([len(n.cores) for n in self.nodes], dtype=np.int64)
        width = int(self.core_counts.max()) if count else 0
        self.cores_cap: IntArray = np.full((count, width), NO_CORE, dtype=np.int64)
        for i, node in enumerate(self.nodes):
            self.cores_cap[i, : len(node.cores)] = node.cores
        self.cpu_cap: IntArray = np.array([n.cpu_capacity for n in self.nodes], dtype=np.int64)
        self.rss_cap: IntArray = np.array([n.memory.rss for n in self.nodes], dtype=np.int64)
        self.vms_cap: IntArray = np.array([n.memory.vms for n in self.nodes], dtype=np.int64)
        self.accelerator_cap: FloatArray = np.zeros((count, len(self.accelerator_kinds)), dtype=np.float64)
        for i, node in enumerate(self.nodes):
            for kind, amount in node.accelerators.items():
                self.accelerator_cap[i, self._kind_column[kind]] = amount
        self.schedulable: BoolArray = np.array([n.schedulable for n in self.nodes], dtype=np.bool_)

        self.cpu_free: IntArray = self.cpu_cap.copy()
        self.rss_free: IntArray = self.rss_cap.copy()
        self.vms_free: IntArray = self.vms_cap.copy()
        self.accelerator_free: FloatArray = self.accelerator_cap.copy()
        self.cores_free: IntArray = self.cores_cap.copy()
        self.cores_sorted: IntArray = -np.sort(-self.cores_free, axis=1)
        # service -> node index -> replicas held there; spread and release need it
        self.held: dict[str, dict[int, int]] = {}
        # bumped on every change, so an "unplaceable" verdict can be reused while nothing has changed
        self.version = 0
        # the node each change touched, in order (changes[v] made version v + 1): lets a cached per-node
        # verdict be brought up to date by re-checking only those nodes
        self._changes: list[int] = []
        self._selector_masks: dict[tuple[tuple[str, str], ...], BoolArray] = {}
        self._demands: dict[str, tuple[Service, Demand]] = {}

    @classmethod
    def build(cls, nodes: Iterable[Node], held: Iterable[tuple[str, Allocation]] = ()) -> ClusterState:
        """The cluster with `held` (service name, allocation) pairs already taken from its nodes."""
        state = cls(list(nodes))
        for service, allocation in held:
            state.hold(service, allocation)
        return state

    # -- reading -------------------------------------------------------------------------------------
    @property
    def node_count(self) -> int:
        return len(self.names)

    def index_of(self, node: str) -> int:
        try:
            return self._index[node]
        except KeyError:
            raise NotFound(
                f"node '{node}' is not in the cluster",
                [Problem("allocation.node", f"'{node}' is not registered", "register the node or fix the name")],
            ) from None

    def free_of(self, node: str) -> NodeFree:
        i = self.index_of(node)
        return NodeFree(
            name=node,
            cpu=int(self.cpu_free[i]),
            cores=tuple(int(c) for c in self.cores_free[i, : self.core_counts[i]]),
            rss=int(self.rss_free[i]),
            vms=int(self.vms_free[i]),
            accelerators={k: float(self.accelerator_free[i, j]) for j, k in enumerate(self.accelerator_kinds)},
        )

    def selector_mask(self, selector: tuple[tuple[str, str], ...]) -> BoolArray:
        """Nodes whose labels contain every key/value of `selector` (cached: labels never change here)."""
        mask = self._selector_masks.get(selector)
        if mask is None:
            mask = np.array([all(node.labels.get(k) == v for k, v in selector) for node in self.nodes], dtype=np.bool_)
            self._selector_masks[selector] = mask
        return mask

    def demand_of(self, service: Service) -> Demand:
        cached = self._demands.get(service.name)
        if cached is not None and cached[0] is service:
            return cached[1]
        needed = service.needed_accelerators
        known = [k for k in needed if k in self._kind_column]
        cores = tuple(service.core_demand)
        demand = Demand(
            service=service.name,
            cpu=service.cpu_demand,
            cores=cores,
            core_array=np.array(cores, dtype=np.int64),
            rss=service.memory.rss,
            vms=service.memory.vms,
            accelerators=needed,
            accelerator_columns=np.array([self._kind_column[k] for k in known], dtype=np.intp),
            accelerator_amounts=np.array([needed[k] for k in known], dtype=np.float64),
            missing_accelerators=tuple(k for k in needed if k not in self._kind_column),
            selector=tuple(sorted(service.node_selector.items())),
            spread=service.spread,
            sensitivity=service.sensitivity,
        )
        self._demands[service.name] = (service, demand)
        return demand

    def changed_since(self, version: int) -> list[int]:
        """The nodes changed after `version` (repeats possible), oldest first."""
        return self._changes[version:]

    def core_assignment(self, node: int, demand: Demand) -> list[int]:
        """Core indices for the demand's per-core needs: largest need on the core with most free."""
        if not demand.cores:
            return []
        free = self.cores_free[node, : self.core_counts[node]]
        # stable sort on -free: among equally free cores the lower index comes first
        order = np.argsort(-free, kind="stable")
        return [int(c) for c in order[: len(demand.cores)]]

    # -- changing ------------------------------------------------------------------------------------
    def take(self, demand: Demand, node: int, cores: Sequence[int] | None = None) -> dict[int, int]:
        """Take `demand` from node `node` (an index); returns core index -> amount taken on it.

        Callers check feasibility first (the filters); this only does the bookkeeping. `cores` gives the
        core for each per-core need explicitly (the exact solver), else the best-matching cores are used.
        """
        taken: dict[int, int] = {}
        if demand.cores:
            chosen = self.core_assignment(node, demand) if cores is None else list(cores)
            for core, amount in zip(chosen, demand.cores, strict=True):
                taken[core] = taken.get(core, 0) + amount
        elif cores:
            raise ValueError(f"cores {list(cores)} given for a demand with no per-core needs")
        self._change(demand.service, node, demand.cpu, demand.rss, demand.vms, demand.accelerators, taken, -1)
        return taken

    def allocation_of(self, demand: Demand, node: int, taken: dict[int, int]) -> Allocation:
        """The allocation that records what `take` took."""
        return _build_allocation(
            {
                "node": self.names[node],
                "cpu": demand.cpu,
                "cores": taken,
                "rss": demand.rss,
                "vms": demand.vms,
                "accelerators": dict(demand.accelerators),
            }
        )

    def allocate(self, demand: Demand, node: int, cores: Sequence[int] | None = None) -> Allocation:
        """`take`, returning the allocation that records it."""
        return self.allocation_of(demand, node, self.take(demand, node, cores))

    def hold(self, service: str, allocation: Allocation) -> None:
        """Record an allocation made elsewhere (for example one stored earlier) as taken."""
        self._apply(service, self._checked_index(allocation), allocation, -1)

    def release(self, service: str, allocation: Allocation) -> None:
        """Give back exactly what `allocation` took."""
        self._apply(service, self._checked_index(allocation), allocation, +1)

    def copy(self) -> ClusterState:
        clone = object.__new__(ClusterState)
        clone.__dict__.update(self.__dict__)
        for name in ("cpu_free", "rss_free", "vms_free", "accelerator_free", "cores_free", "cores_sorted"):
            setattr(clone, name, getattr(self, name).copy())
        clone.held = {service: dict(nodes) for service, nodes in self.held.items()}
        clone._changes = list(self._changes)
        # selector masks and demands depend only on what never changes, so the copies share them
        clone._selector_masks = self._selector_masks
        clone._demands = self._demands
        return clone

    def _checked_index(self, allocation: Allocation) -> int:
        i = self.index_of(allocation.node)
        for core in allocation.cores:
            if not 0 <= core < self.core_counts[i]:
                raise InvalidInput(
                    f"allocation on node '{allocation.node}' names a core it does not have",
                    [
                        Problem(
                            f"allocation.cores[{core}]",
                            f"node '{allocation.node}' has cores 0..{self.core_counts[i] - 1}",
                            "use a core index of that node",
                        )
                    ],
                )
        for kind in allocation.accelerators:
            if kind not in self._kind_column:
                raise InvalidInput(
                    f"allocation on node '{allocation.node}' holds an accelerator no node offers",
                    [Problem(f"allocation.accelerators.{kind}", "unknown accelerator type", "fix the type name")],
                )
        return i

    def _apply(self, service: str, i: int, allocation: Allocation, sign: int) -> None:
        self._change(
            service, i, allocation.cpu, allocation.rss, allocation.vms, allocation.accelerators, allocation.cores, sign
        )

    def _change(
        self,
        service: str,
        i: int,
        cpu: int,
        rss: int,
        vms: int,
        accelerators: dict[str, float],
        cores: dict[int, int],
        sign: int,
    ) -> None:
        self.cpu_free[i] += sign * cpu
        self.rss_free[i] += sign * rss
        self.vms_free[i] += sign * vms
        if accelerators:
            for kind, amount in accelerators.items():
                self.accelerator_free[i, self._kind_column[kind]] += sign * amount
        if cores:
            for core, amount in cores.items():
                self.cores_free[i, core] += sign * amount
            self.cores_sorted[i] = -np.sort(-self.cores_free[i])
        counts = self.held.setdefault(service, {})
        remaining = counts.get(i, 0) - sign
        if remaining > 0:
            counts[i] = remaining
        else:
            counts.pop(i, None)
        self.version += 1
        self._changes.append(i)


_build_allocation = _pick_builder()
