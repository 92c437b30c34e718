"""Builders and checks shared by the placement tests."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rohe.core.domain import Allocation, Node, Service
from rohe.orchestration.placement import ReplicaRequest
from rohe.orchestration.placement.state import ACCELERATOR_TOLERANCE


def requests_for(*services: Service) -> list[ReplicaRequest]:
    """Every replica of each service, in order."""
    return [ReplicaRequest(s, i) for s in services for i in range(s.replicas)]


def over_capacity(nodes: Sequence[Node], allocations: Iterable[Allocation]) -> list[str]:
    """Every capacity some node exceeds, recomputed from the allocations alone (empty means all is well)."""
    by_name = {n.name: n for n in nodes}
    cpu = dict.fromkeys(by_name, 0)
    rss = dict.fromkeys(by_name, 0)
    vms = dict.fromkeys(by_name, 0)
    cores = {name: [0] * len(n.cores) for name, n in by_name.items()}
    accelerators: dict[str, dict[str, float]] = {name: {} for name in by_name}
    for a in allocations:
        cpu[a.node] += a.cpu
        rss[a.node] += a.rss
        vms[a.node] += a.vms
        for core, amount in a.cores.items():
            cores[a.node][core] += amount
        for kind, amount in a.accelerators.items():
            accelerators[a.node][kind] = accelerators[a.node].get(kind, 0.0) + amount
    problems = []
    for name, n in by_name.items():
        if cpu[name] > n.cpu_capacity:
            problems.append(f"{name}: cpu {cpu[name]} > {n.cpu_capacity}")
        if rss[name] > n.memory.rss:
            problems.append(f"{name}: rss {rss[name]} > {n.memory.rss}")
        if vms[name] > n.memory.vms:
            problems.append(f"{name}: vms {vms[name]} > {n.memory.vms}")
        for core, (used, capacity) in enumerate(zip(cores[name], n.cores, strict=True)):
            if used > capacity:
                problems.append(f"{name}: core {core} {used} > {capacity}")
        for kind, used_amount in accelerators[name].items():
            if used_amount > n.accelerators.get(kind, 0.0) + ACCELERATOR_TOLERANCE * 100:
                problems.append(f"{name}: {kind} {used_amount} > {n.accelerators.get(kind, 0.0)}")
    return problems
