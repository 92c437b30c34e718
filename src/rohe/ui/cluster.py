"""The console's cluster view: capacity, used and free per node (and per core), node state, placements per node,
and the placement queue with each queued replica's reason.

Everything is derived from `OrchestrationService.list_nodes()` / `replicas()` (the same figures `GET
/orchestration/nodes` returns); nothing here computes usage on its own.
"""

from __future__ import annotations

from typing import Any

from rohe.core.domain import ReplicaStatus
from rohe.orchestration.service import OrchestrationService


def _pct(used: float, capacity: float) -> float:
    return round(100.0 * used / capacity, 1) if capacity else 0.0


def cluster_view(orchestration: OrchestrationService) -> dict[str, Any]:
    """Nodes with their usage, the queue, and the totals the page header and the live stream show."""
    usage = orchestration.list_nodes()
    queued = orchestration.replicas(status=ReplicaStatus.QUEUEING)
    nodes: list[dict[str, Any]] = []
    for u in usage:
        node = u.node
        nodes.append({
            "name": node.name,
            "status": node.status.value,
            "schedulable": node.schedulable,
            "cpu_capacity": node.cpu_capacity,
            "cpu_used": u.cpu_used,
            "cpu_free": u.cpu_free,
            "cpu_pct": _pct(u.cpu_used, node.cpu_capacity),
            "cores": [{"capacity": cap, "used": used, "pct": _pct(used, cap)}
                      for cap, used in zip(node.cores, u.cores_used, strict=False)],
            "rss_capacity": node.memory.rss,
            "rss_used": u.rss_used,
            "rss_free": u.rss_free,
            "rss_pct": _pct(u.rss_used, node.memory.rss),
            "accelerators": {k: {"capacity": v, "used": u.accelerators_used.get(k, 0.0)}
                             for k, v in node.accelerators.items()},
            "replicas": len(u.replicas),
        })
    queue = [{"replica": r.key, "service": r.service, "reason": r.reason or "waiting for the next placement round"}
             for r in queued]
    totals: dict[str, float] = {
        "nodes": len(nodes),
        "nodes_ready": sum(1 for n in nodes if n["schedulable"]),
        "nodes_cordoned": sum(1 for n in nodes if not n["schedulable"]),
        "placed": sum(n["replicas"] for n in nodes),
        "queued": len(queue),
        "cpu_capacity": sum(n["cpu_capacity"] for n in nodes),
        "cpu_used": sum(n["cpu_used"] for n in nodes),
        "rss_capacity": sum(n["rss_capacity"] for n in nodes),
        "rss_used": sum(n["rss_used"] for n in nodes),
    }
    totals["cpu_pct"] = _pct(totals["cpu_used"], totals["cpu_capacity"])
    totals["rss_pct"] = _pct(totals["rss_used"], totals["rss_capacity"])
    return {"nodes": nodes, "queue": queue, "totals": totals}


NODES_PER_PAGE = 100  # a 1,000-node table was 43k DOM elements and took 5 s to load in Chromium


def node_page(view: dict[str, Any], page: int, per_page: int = NODES_PER_PAGE, query: str = "") -> dict[str, Any]:
    """One page of the node table, optionally only the nodes whose name contains `query` (case-insensitive);
    a page past the last shows the last. The totals stay those of the whole cluster."""
    needle = query.strip().lower()
    matching = [n for n in view["nodes"] if needle in n["name"].lower()] if needle else view["nodes"]
    pages = max(1, -(-len(matching) // per_page))
    page = min(max(1, page), pages)
    start = (page - 1) * per_page
    return {
        "rows": matching[start : start + per_page],
        "page": page,
        "pages": pages,
        "per_page": per_page,
        "matching": len(matching),
        "first": start + 1 if matching else 0,
        "last": min(start + per_page, len(matching)),
        "query": query.strip(),
    }


def cluster_live(view: dict[str, Any]) -> dict[str, Any]:
    """What the live stream pushes for the cluster page (from `cluster_view`): totals and per-node used figures,
    not the per-core lists."""
    return {
        "totals": view["totals"],
        "nodes": {n["name"]: [n["status"], n["cpu_used"], n["cpu_free"], n["rss_used"], n["rss_free"], n["replicas"]]
                  for n in view["nodes"]},
        "queue": view["queue"][:200],
    }
