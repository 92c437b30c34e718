"""Rich renderings of nodes, services, replicas and plans."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.table import Table

from rohe.core.domain import Replica, Service
from rohe.orchestration.usage import NodeUsage

if TYPE_CHECKING:  # the planner imports the placement solvers; only its types are needed here
    from rohe.orchestration.service import Plan, PlanEntry


def _fraction(used: float, capacity: float) -> str:
    if capacity <= 0:
        return "-"
    return f"{used:g}/{capacity:g} ({100 * used / capacity:.0f}%)"


def nodes_table(nodes: Sequence[NodeUsage]) -> Table:
    table = Table(title=f"{len(nodes)} node(s)")
    for column in (
        "name",
        "status",
        "arch",
        "cpu m",
        "cores",
        "rss MiB",
        "vms MiB",
        "accelerators",
        "replicas",
    ):
        table.add_column(column)
    for usage in nodes:
        node = usage.node
        busiest = max(zip(usage.cores_used, node.cores, strict=True), key=lambda uc: uc[0] / uc[1] if uc[1] else 0)
        cores = f"{len(node.cores)} (busiest {busiest[0]}/{busiest[1]})"
        accelerators = ", ".join(
            f"{kind} {_fraction(usage.accelerators_used.get(kind, 0), cap)}" for kind, cap in node.accelerators.items()
        )
        table.add_row(
            node.name,
            node.status.value,
            node.architecture,
            _fraction(usage.cpu_used, node.cpu_capacity),
            cores,
            _fraction(usage.rss_used, node.memory.rss),
            _fraction(usage.vms_used, node.memory.vms),
            accelerators or "-",
            str(len(usage.replicas)),
        )
    return table


def services_table(services: Sequence[Service], replicas: Sequence[Replica]) -> Table:
    table = Table(title=f"{len(services)} service(s)")
    for column in (
        "name",
        "application",
        "replicas",
        "cpu m",
        "per-core m",
        "rss/vms MiB",
        "accel",
        "placement",
    ):
        table.add_column(column)
    by_service: dict[str, list[Replica]] = {}
    for replica in replicas:
        by_service.setdefault(replica.service, []).append(replica)
    for service in services:
        placement = ", ".join(
            f"{r.index}:{r.node}" if r.node else f"{r.index}:[yellow]{r.status.value}[/]"
            for r in by_service.get(service.name, [])
        )
        table.add_row(
            service.name,
            service.application,
            str(service.replicas),
            str(service.cpu_demand),
            " ".join(map(str, service.processor)) or "-",
            f"{service.memory.rss}/{service.memory.vms}",
            ", ".join(f"{k} {v:g}" for k, v in service.needed_accelerators.items()) or "-",
            placement or "-",
        )
    return table


def replicas_table(replicas: Sequence[Replica]) -> Table:
    table = Table(title=f"{len(replicas)} replica(s)")
    for column in ("replica", "status", "node", "cpu m", "cores", "rss MiB", "reason"):
        table.add_column(column)
    for replica in replicas:
        a = replica.allocation
        table.add_row(
            replica.key,
            replica.status.value,
            a.node if a else "-",
            str(a.cpu) if a else "-",
            " ".join(f"#{c}:{m}" for c, m in sorted(a.cores.items())) if a else "-",
            str(a.rss) if a else "-",
            replica.reason or "",
        )
    return table


def plan_table(plan: Plan) -> Table:
    optimal = {True: " (proven optimal)", False: " (best found, not proven optimal)", None: ""}[plan.proven_optimal]
    if plan.bound is not None and not plan.proven_optimal:
        # The solver's own proof of how far this answer can be from the best one.
        optimal += f"; at most {plan.bound.placed_at_most} can be placed, gap {plan.bound.gap:.1%}"
    table = Table(title=f"plan by {plan.algorithm}: {plan.placed}/{len(plan.entries)} placed{optimal}")
    for column in ("replica", "now on", "would go to", "why"):
        table.add_column(column)
    for entry in plan.entries:
        table.add_row(
            f"{entry.service}-{entry.index}",
            entry.currently or "-",
            entry.node or "[red]stays queued[/]",
            entry.reason or _why(entry),
        )
    return table


def _why(entry: PlanEntry) -> str:
    if entry.node is None:
        return ""
    score = f"score {entry.score:.3f}, " if entry.score is not None else ""
    return f"{score}chosen among {entry.feasible_nodes} feasible node(s)" if entry.feasible_nodes else "fits"
