"""The demo's orchestration step: register the example edge cluster, place the example pipeline's services,
compare the placement algorithms on it (dry runs) and write the Kubernetes manifests of the placement."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table

from rohe.core.domain import Replica, Service
from rohe.demo import data_file
from rohe.orchestration.deploy.kubernetes import build_manifests, write_manifests
from rohe.orchestration.inputs import load_nodes
from rohe.orchestration.placement import available_algorithms
from rohe.orchestration.usage import utilisation
from rohe.platform import Platform

NAMESPACE = "rohe-demo"


@dataclass(frozen=True)
class PlacementOutcome:
    algorithm: str
    services: list[Service]
    replicas: list[Replica]
    unplaced: int
    comparison: list[dict[str, object]]
    manifests: int


def compare_algorithms(platform: Platform) -> tuple[Table, list[dict[str, object]]]:
    """Every placement algorithm as a dry run on what is registered: placed, nodes used, utilisation, time."""
    nodes = platform.store.list_nodes()
    rows: list[dict[str, object]] = []
    table = Table(title="placement algorithms on the example pipeline (dry run)")
    for column in ("algorithm", "placed", "nodes used", "mean cpu util", "mean mem util", "decision time"):
        table.add_column(column)
    for name in available_algorithms():
        started = time.perf_counter()
        plan = platform.orchestration.plan(name, replan=True)
        elapsed = time.perf_counter() - started
        summary = utilisation(nodes, [e.allocation for e in plan.entries if e.allocation is not None])
        rows.append(
            {
                "algorithm": name,
                "placed": plan.placed,
                "replicas": len(plan.entries),
                "nodes_used": summary.nodes_used,
                "mean_cpu_utilisation": round(summary.mean_cpu_utilisation, 4),
                "mean_memory_utilisation": round(summary.mean_memory_utilisation, 4),
                "seconds": round(elapsed, 4),
                "proven_optimal": plan.proven_optimal,
            }
        )
        table.add_row(
            name + (" (proven optimal)" if plan.proven_optimal else ""),
            f"{plan.placed}/{len(plan.entries)}",
            str(summary.nodes_used),
            f"{summary.mean_cpu_utilisation:.0%}",
            f"{summary.mean_memory_utilisation:.0%}",
            f"{elapsed * 1000:.1f} ms",
        )
    return table, rows


def place_pipeline(platform: Platform, services: Sequence[Service], out: Path) -> tuple[PlacementOutcome, Table]:
    """Register the cluster and the services, compare the algorithms, place for real, write manifests."""
    orchestration = platform.orchestration
    nodes = load_nodes(data_file("edge-cluster.yaml"))
    # A kept --data-dir holds the previous run's cluster and pipeline: start from them afresh.
    for application in sorted({s.application for s in services}):
        if orchestration.list_services(application):
            orchestration.remove_application(application)
    registered_nodes = {usage.node.name for usage in orchestration.list_nodes()}
    for node in nodes:
        if node.name in registered_nodes:
            orchestration.remove_node(node.name)
    orchestration.add_nodes(nodes)
    orchestration.add_services(list(services))
    table, comparison = compare_algorithms(platform)
    result = orchestration.place_queued()
    registered = orchestration.list_services()
    replicas = orchestration.replicas()
    manifests = build_manifests(registered, replicas, NAMESPACE)
    write_manifests(manifests, out / "manifests")
    outcome = PlacementOutcome(result.algorithm, registered, replicas, len(result.unplaced), comparison, len(manifests))
    return outcome, table
