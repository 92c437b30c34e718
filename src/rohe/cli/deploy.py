"""`rohe orchestration deploy`: turn the stored placements into running replicas."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

import typer
from rich.console import Console
from rich.table import Table

from rohe.cli.backend import open_backend
from rohe.cli.errors import handle_errors
from rohe.core.auth import is_loopback
from rohe.core.config import load_settings
from rohe.core.domain import Service
from rohe.core.errors import InvalidInput, Problem
from rohe.core.redact import REDACTED
from rohe.orchestration.deploy.kubernetes import KubernetesDeployer, build_manifests, write_manifests
from rohe.orchestration.deploy.local import LocalDeployer, LocalReplicaProcess

console = Console()


def processes_table(processes: list[LocalReplicaProcess]) -> Table:
    table = Table(title=f"{len(processes)} local replica process(es)")
    for column in ("replica", "node", "pid", "port", "status"):
        table.add_column(column)
    for p in processes:
        colour = "green" if p.status == "running" else "yellow"
        table.add_row(
            f"{p.service}-{p.index}",
            p.node,
            str(p.pid or "-"),
            str(p.port or "-"),
            f"[{colour}]{p.status}[/]",
        )
    return table


def require_trusted_link(url: str) -> None:
    """Commands fetched from a server are run here: refuse them unless the link is authenticated (https) or
    never leaves this machine, so nobody on the path can inject a command."""
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname or "")):
        return
    raise InvalidInput("refusing to run commands fetched over an unauthenticated link", [Problem(
        "--url", f"{parts.scheme}://{parts.hostname}: plain HTTP beyond this machine can be read and altered",
        "serve the API behind https (with api.token) or deploy on the server host with a loopback URL")])


def without_redacted_env(service: Service) -> Service:
    """The API redacts secret env values; those variables are left out, so the process inherits them from
    this machine's environment instead of receiving the placeholder."""
    kept = {k: v for k, v in service.env.items() if REDACTED not in v}
    return service if kept == service.env else service.model_copy(update={"env": kept})


@handle_errors
def deploy(
    target: Annotated[
        Literal["local", "kubernetes"] | None, typer.Option(help="default: deploy.backend from config")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="write Kubernetes YAML to --out, apply nothing")] = False,
    out: Annotated[Path, typer.Option(help="folder for --dry-run manifests")] = Path("manifests"),
    kubeconfig: Annotated[Path | None, typer.Option(help="apply to the cluster of this kubeconfig")] = None,
    namespace: Annotated[str | None, typer.Option(help="Kubernetes namespace; default deploy.namespace")] = None,
    stop: Annotated[bool, typer.Option("--stop", help="local: stop every replica process rohe started")] = False,
    url: Annotated[
        str | None,
        typer.Option("--url", help="URL of a running orchestration service; https, or http on loopback only "
                     "(its services' commands are run here)"),
    ] = None,
) -> None:
    """Deploy placed replicas: as local processes (embedded default) or to Kubernetes/K3s."""
    settings = load_settings()
    chosen = "kubernetes" if (dry_run or kubeconfig) else (target or settings.deploy.backend)
    local = LocalDeployer(settings.ensure_data_dir() / "local", settings.deploy.health_timeout)
    if stop:
        local.stop_all()
        console.print("[green]stopped every local replica process[/]")
        return
    if url is not None and not dry_run:
        require_trusted_link(url)
    b = open_backend(settings, url)
    try:
        services, replicas = b.list_services(None), b.replicas()
    finally:
        b.close()
    if url is not None:
        services = [without_redacted_env(s) for s in services]
    if chosen == "local":
        console.print(processes_table(local.apply(services, replicas)))
        return
    ns = namespace or settings.deploy.namespace
    manifests = build_manifests(services, replicas, ns)
    if dry_run:
        paths = write_manifests(manifests, out)
        console.print(f"[green]wrote {len(manifests)} object(s) in {len(paths)} file(s) to {out}[/]")
        return
    config_file = str(kubeconfig) if kubeconfig else settings.deploy.kubeconfig
    report = KubernetesDeployer(config_file, ns).apply(manifests)
    console.print(f"[green]applied {len(report.applied)}[/], pruned {len(report.pruned)}")
    for name in report.pruned:
        console.print(f"  pruned {name}")
