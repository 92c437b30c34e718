"""`rohe demo`: the main job. Until serving lands it is a placement demo on an example edge cluster:
register the cluster and an ML pipeline, compare the placement algorithms, place, drain a node and
re-place, then run every replica as a local process, health-check it and stop it."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from rohe.cli.deploy import processes_table
from rohe.cli.errors import handle_errors
from rohe.cli.tables import nodes_table, replicas_table
from rohe.core.config import Settings
from rohe.demo import data_file
from rohe.orchestration.deploy.kubernetes import build_manifests, write_manifests
from rohe.orchestration.deploy.local import LocalDeployer
from rohe.orchestration.inputs import load_nodes, load_services
from rohe.orchestration.placement import available_algorithms
from rohe.orchestration.usage import utilisation
from rohe.platform import Platform

console = Console()


def _compare_algorithms(platform: Platform) -> tuple[Table, list[dict[str, object]]]:
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
        row = {
            "algorithm": name,
            "placed": plan.placed,
            "replicas": len(plan.entries),
            "nodes_used": summary.nodes_used,
            "mean_cpu_utilisation": round(summary.mean_cpu_utilisation, 4),
            "mean_memory_utilisation": round(summary.mean_memory_utilisation, 4),
            "seconds": round(elapsed, 4),
            "proven_optimal": plan.proven_optimal,
        }
        rows.append(row)
        table.add_row(
            name + (" (proven optimal)" if plan.proven_optimal else ""),
            f"{plan.placed}/{len(plan.entries)}",
            str(summary.nodes_used),
            f"{summary.mean_cpu_utilisation:.0%}",
            f"{summary.mean_memory_utilisation:.0%}",
            f"{elapsed * 1000:.1f} ms",
        )
    return table, rows


@handle_errors
def demo(
    data_dir: Annotated[
        Path | None, typer.Option(help="keep the demo's state here; default a temporary folder")
    ] = None,
    report: Annotated[Path, typer.Option(help="folder for the demo's report")] = Path("reports/demo"),
    keep_running: Annotated[bool, typer.Option(help="leave the local replica processes running")] = False,
) -> None:
    """Place an example ML pipeline on an example edge cluster and run it locally."""
    with tempfile.TemporaryDirectory(prefix="rohe-demo-") as scratch:
        settings = Settings(data_dir=data_dir or Path(scratch))
        settings.ensure_data_dir()
        report.mkdir(parents=True, exist_ok=True)
        platform = Platform.open(settings)
        local = LocalDeployer(settings.data_dir / "local", health_timeout=15.0)
        try:
            _run(platform, local, report, keep_running)
        finally:
            if not keep_running:
                local.stop_all()
            platform.close()


def _run(platform: Platform, local: LocalDeployer, report: Path, keep_running: bool) -> None:
    service = platform.orchestration
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("registering the edge cluster and the pipeline", total=2)
        service.add_nodes(load_nodes(data_file("edge-cluster.yaml")))
        progress.advance(task)
        service.add_services(load_services(data_file("pipeline.yaml")))
        progress.advance(task)
    console.print(f"registered {len(service.list_nodes())} nodes and {len(service.list_services())} services")

    table, rows = _compare_algorithms(platform)
    console.print(table)

    result = service.place_queued()
    console.print(
        f"[bold]placed with {result.algorithm}[/]: {len(result.placed)} replica(s), {len(result.unplaced)} queued"
    )
    console.print(nodes_table(service.list_nodes()))

    busiest = max(service.list_nodes(), key=lambda u: len(u.replicas))
    requeued = service.drain_node(busiest.node.name)
    moved = service.place_queued()
    console.print(
        f"[bold]drained {busiest.node.name}[/]: {len(requeued)} replica(s) requeued, "
        f"{len(moved.placed)} re-placed elsewhere, {len(moved.unplaced)} still queued"
    )
    replicas = service.replicas()
    console.print(replicas_table(replicas))

    services = service.list_services()
    manifests = build_manifests(services, replicas, "rohe-demo")
    write_manifests(manifests, report / "manifests")
    console.print(f"wrote {len(manifests)} Kubernetes object(s) to {report / 'manifests'}")

    with console.status("starting every placed replica as a local process and health-checking it"):
        processes = local.apply(services, replicas)
    console.print(processes_table(processes))
    healthy = sum(1 for p in processes if p.status == "running")
    (report / "placement.json").write_text(
        json.dumps(
            {
                "algorithms": rows,
                "replicas": [r.model_dump(mode="json") for r in replicas],
                "local_processes": {"started": len(processes), "healthy": healthy},
            },
            indent=2,
        )
    )
    console.print(f"[green]{healthy}/{len(processes)} replica process(es) healthy[/]; report in {report}")
    if not keep_running:
        console.print("stopping every process the demo started")
