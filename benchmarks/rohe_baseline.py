"""Baseline for benchmarks/placement.py: ROHE 0.2.1's placement, re-stated here for comparison only.

This is our own re-statement (not ROHE's code) of what `PriorityAlgorithm` (rohe 0.2.1 on PyPI,
`rohe/orchestration/orchestration_algorithm/priority.py`) and the resource bookkeeping of its allocator
(`allocator.py`, `update_node`) do for each replica, so both can run on the same seeded instance in the
same process. ROHE's package cannot be imported next to ours (both are named `rohe`), and it would pull
in its database and queue dependencies. Per replica ROHE:

1. filters: walks every node; a node passes when the service's `cpu` and `rss` fit what is free and, for
   some accelerator type the service lists, the amount is 0 or strictly less than a device of that type
   has free (so a service must list an accelerator, `{"gpu": 0}` for none, to be placed at all);
2. ranks each passing node: free per-core capacity sorted ascending minus the per-core needs (zero
   padded to the node's core count) sorted ascending; any negative -> rank -1, else
   `w_cpu * sum(left) / (cores * 100) + w_mem * (free_rss - rss) / cap_rss`; ranks <= 0 are dropped;
3. selects: strategy 0 the first ranked node, 1 the highest rank, 2 the lowest (ties: the later node for
   1, the earlier for 2, from a stable sort ascending);
4. books it: cpu, rss, vms, the accelerator amount on a matching device, and the needs added largest
   first onto the used cores sorted ascending;
5. stops placing that service's remaining replicas at the first one that finds no node.

What is left out, which only makes ROHE faster here: its MongoDB sync before and after each round, the
service queue, and the per-replica instance objects (uuid, list rebuild). Units follow ROHE's configs:
node and service `cpu` in millicores, per-core capacities and needs in percent of a core (our millicores
/ 10). rohe's `best-fit` (least left free) makes ROHE's strategy-2 choice (rohe_config.STRATEGIES).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from rohe.core.domain import Node, Service

FIRST_FIT, HIGHEST_RANK, LOWEST_RANK = 0, 1, 2
# rohe strategy -> the ROHE strategy code making the same kind of pick (see rohe.core.rohe_config)
ROHE_CODE = {"first-fit": FIRST_FIT, "worst-fit": HIGHEST_RANK, "best-fit": LOWEST_RANK}


@dataclass
class Device:
    kind: str
    capacity: float
    used: float = 0.0


@dataclass
class RoheNode:
    name: str
    cpu_capacity: float
    memory_capacity: dict[str, int]
    cores_capacity: list[float]
    accelerators: dict[str, Device]
    cpu_used: float = 0.0
    memory_used: dict[str, int] = field(default_factory=lambda: {"rss": 0, "vms": 0})
    cores_used: list[float] = field(default_factory=list)


@dataclass
class RoheService:
    name: str
    replicas: int
    cpu: int
    memory: dict[str, int]
    cores: list[float]
    accelerator: dict[str, float]


def convert(nodes: Sequence[Node], services: Sequence[Service]) -> tuple[dict[str, RoheNode], list[RoheService]]:
    """The same instance in ROHE's shapes and units."""
    rohe_nodes = {
        n.name: RoheNode(
            name=n.name,
            cpu_capacity=float(n.cpu_capacity),
            memory_capacity={"rss": n.memory.rss, "vms": n.memory.vms},
            cores_capacity=[c / 10 for c in n.cores],
            accelerators={
                f"{kind}{i}": Device(kind, amount) for i, (kind, amount) in enumerate(n.accelerators.items())
            },
            cores_used=[0.0] * len(n.cores),
        )
        for n in nodes
    }
    rohe_services = [
        RoheService(
            name=s.name,
            replicas=s.replicas,
            cpu=s.cpu_demand,
            memory={"rss": s.memory.rss, "vms": s.memory.vms},
            cores=[p / 10 for p in s.processor],
            accelerator=dict(s.needed_accelerators) or {"gpu": 0.0},
        )
        for s in services
    ]
    return rohe_nodes, rohe_services


def filter_nodes(nodes: dict[str, RoheNode], service: RoheService) -> list[str]:
    passing = []
    for key, node in nodes.items():
        ok = False
        free_cpu = node.cpu_capacity - node.cpu_used
        free_rss = node.memory_capacity["rss"] - node.memory_used["rss"]
        if service.cpu <= free_cpu and service.memory["rss"] <= free_rss:
            for kind, amount in service.accelerator.items():
                if amount == 0:
                    ok = True
                    continue
                for device in node.accelerators.values():
                    if device.kind == kind and amount < device.capacity - device.used:
                        ok = True
        if ok:
            passing.append(key)
    return passing


def rank_nodes(
    nodes: dict[str, RoheNode], keys: list[str], service: RoheService, weights: dict[str, float]
) -> dict[str, float]:
    ranks: dict[str, float] = {}
    for key in keys:
        node = nodes[key]
        free_cores = np.sort(np.array(node.cores_capacity) - np.array(node.cores_used))
        needs = np.array(service.cores, dtype=np.float64)
        needs.resize(free_cores.shape, refcheck=False)  # zero-padded (or cut) to the node's core count
        left = free_cores - np.sort(needs)
        if np.any(left < 0):
            ranks[key] = -1.0
            continue
        cpu_rank = float(np.sum(left)) / (left.size * 100)
        free_rss = node.memory_capacity["rss"] - node.memory_used["rss"]
        memory_rank = (free_rss - service.memory["rss"]) / node.memory_capacity["rss"]
        ranks[key] = weights["cpu"] * cpu_rank + weights["memory"] * memory_rank
    return {k: v for k, v in ranks.items() if v > 0}


def select_node(ranks: dict[str, float], strategy: int) -> str | None:
    if not ranks:
        return None
    if strategy == FIRST_FIT:
        return next(iter(ranks))
    ordered = [key for key, _ in sorted(ranks.items(), key=lambda item: item[1])]
    return ordered[-1] if strategy == HIGHEST_RANK else ordered[0]


def book(node: RoheNode, service: RoheService) -> None:
    node.cpu_used += service.cpu
    node.memory_used["rss"] += service.memory["rss"]
    node.memory_used["vms"] += service.memory["vms"]
    for kind, amount in service.accelerator.items():
        for device in node.accelerators.values():
            if device.kind == kind and amount < device.capacity - device.used:
                device.used += amount
    used = np.sort(np.array(node.cores_used))
    needs = np.array(service.cores, dtype=np.float64)
    needs.resize(used.shape, refcheck=False)
    node.cores_used = (used - np.sort(-needs)).tolist()


@dataclass(frozen=True)
class BaselineRun:
    placed: int
    nodes_used: int
    decisions: int
    wall_seconds: float
    cpu_seconds: float


def place_all(
    nodes: Sequence[Node], services: Sequence[Service], strategy: int, weights: dict[str, float] | None = None
) -> BaselineRun:
    """Every replica of every service, in order, the way ROHE's allocator loop does it (timed)."""
    rohe_nodes, rohe_services = convert(nodes, services)
    weights = weights or {"cpu": 1.0, "memory": 1.0}
    placed, decisions, used = 0, 0, set()
    wall, cpu = time.perf_counter(), time.process_time()
    for service in rohe_services:
        for _ in range(service.replicas):
            decisions += 1
            key = select_node(rank_nodes(rohe_nodes, filter_nodes(rohe_nodes, service), service, weights), strategy)
            if key is None:
                break
            book(rohe_nodes[key], service)
            placed += 1
            used.add(key)
    return BaselineRun(placed, len(used), decisions, time.perf_counter() - wall, time.process_time() - cpu)
