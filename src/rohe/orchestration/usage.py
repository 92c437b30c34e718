"""What each node holds, derived from the allocations of its replicas (never typed by hand)."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, Field, computed_field

from rohe.core.domain import Allocation, Node, Replica


class NodeUsage(BaseModel):
    """A node with its used and free amounts, as shown by `get-node` and the API."""

    node: Node
    replicas: list[str] = Field(default_factory=list)
    cpu_used: int = 0
    cores_used: list[int] = Field(default_factory=list)
    rss_used: int = 0
    vms_used: int = 0
    accelerators_used: dict[str, float] = Field(default_factory=dict)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def cpu_free(self) -> int:
        return self.node.cpu_capacity - self.cpu_used

    @computed_field  # type: ignore[prop-decorator]
    @property
    def rss_free(self) -> int:
        return self.node.memory.rss - self.rss_used

    @computed_field  # type: ignore[prop-decorator]
    @property
    def vms_free(self) -> int:
        return self.node.memory.vms - self.vms_used


def node_usage(nodes: Iterable[Node], replicas: Iterable[Replica]) -> list[NodeUsage]:
    usage = {node.name: NodeUsage(node=node, cores_used=[0] * len(node.cores)) for node in nodes}
    for replica in replicas:
        allocation = replica.allocation
        if allocation is None or allocation.node not in usage:
            continue
        entry = usage[allocation.node]
        entry.replicas.append(replica.key)
        entry.cpu_used += allocation.cpu
        entry.rss_used += allocation.rss
        entry.vms_used += allocation.vms
        for core, millicores in allocation.cores.items():
            entry.cores_used[core] += millicores
        for kind, share in allocation.accelerators.items():
            entry.accelerators_used[kind] = entry.accelerators_used.get(kind, 0.0) + share
    return list(usage.values())


class UtilisationSummary(BaseModel):
    """How tightly a set of allocations packs the cluster: the figures placement is judged by."""

    nodes_used: int
    mean_cpu_utilisation: float
    mean_memory_utilisation: float


def utilisation(nodes: Iterable[Node], allocations: Iterable[Allocation]) -> UtilisationSummary:
    """Mean CPU and resident-memory utilisation over the nodes that hold at least one replica."""
    capacity = {node.name: (node.cpu_capacity, node.memory.rss) for node in nodes}
    used: dict[str, list[int]] = {}
    for allocation in allocations:
        totals = used.setdefault(allocation.node, [0, 0])
        totals[0] += allocation.cpu
        totals[1] += allocation.rss
    if not used:
        return UtilisationSummary(nodes_used=0, mean_cpu_utilisation=0.0, mean_memory_utilisation=0.0)
    cpu = [u[0] / capacity[n][0] if capacity[n][0] else 0.0 for n, u in used.items()]
    memory = [u[1] / capacity[n][1] if capacity[n][1] else 0.0 for n, u in used.items()]
    return UtilisationSummary(
        nodes_used=len(used),
        mean_cpu_utilisation=sum(cpu) / len(cpu),
        mean_memory_utilisation=sum(memory) / len(memory),
    )
