"""What must hold in a store after any race: every placement on a registered, schedulable node, within capacity."""

from __future__ import annotations

from rohe.core.domain import NodeStatus, ReplicaStatus
from rohe.core.storage import Store
from rohe.orchestration.usage import node_usage


def violations(store: Store) -> list[str]:
    """Every broken invariant, readable (empty when the store is consistent).

    The race tests cordon nodes only by draining them, so nothing may sit on a node that is not ready.
    """
    nodes = {n.name: n for n in store.list_nodes()}
    replicas = store.list_replicas()
    problems: list[str] = []
    for replica in replicas:
        placed = replica.status is not ReplicaStatus.QUEUEING
        if placed != (replica.allocation is not None):
            problems.append(f"{replica.key}: status {replica.status} with allocation {replica.allocation}")
        node = replica.node
        if node is None:
            continue
        if node not in nodes:
            problems.append(f"{replica.key} is on node {node}, which is not registered")
        elif nodes[node].status is not NodeStatus.READY:
            problems.append(f"{replica.key} is on node {node}, which is {nodes[node].status}")
    for usage in node_usage(nodes.values(), replicas):
        name = usage.node.name
        if usage.cpu_free < 0 or usage.rss_free < 0 or usage.vms_free < 0:
            problems.append(f"node {name} is over capacity: cpu {usage.cpu_free}, rss {usage.rss_free} free")
        for core, used in enumerate(usage.cores_used):
            if used > usage.node.cores[core]:
                problems.append(f"node {name} core {core} holds {used}m of {usage.node.cores[core]}m")
    return problems
