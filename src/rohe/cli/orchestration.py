"""`rohe orchestration ...`: the seed's commands (add-node, add-service, get-*, remove-*, start/stop-agent)
plus plan, place, drain-node and deploy. Without `--url` they work on the local store (embedded mode)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from rohe.cli.backend import OrchestrationBackend, open_backend
from rohe.cli.errors import handle_errors
from rohe.cli.tables import nodes_table, plan_table, replicas_table, services_table
from rohe.core.config import load_settings
from rohe.core.errors import InvalidInput, Problem
from rohe.core.loading import load_document
from rohe.orchestration.inputs import expect_command, read_command, read_nodes

app = typer.Typer(help="Register nodes and services, place replicas, deploy them.", no_args_is_help=True)
console = Console()

Conf = Annotated[Path | None, typer.Option("--conf", help="YAML/JSON file (rohe schema or original ROHE format)")]
RequiredConf = Annotated[Path, typer.Option("--conf", help="YAML/JSON file (rohe schema or original ROHE format)")]
Url = Annotated[str | None, typer.Option("--url", help="URL of a running orchestration service; default: embedded")]
App = Annotated[str | None, typer.Option("--app", help="application name")]
Json = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]


@contextmanager
def backend(url: str | None) -> Iterator[OrchestrationBackend]:
    b = open_backend(load_settings(), url)
    try:
        yield b
    finally:
        b.close()


def _emit(data: Any, as_json: bool, table: Any = None) -> None:
    if as_json or table is None:
        console.print_json(json.dumps(data, default=str))
    else:
        console.print(table)


@app.command("add-node")
@handle_errors
def add_node(conf: RequiredConf, url: Url = None) -> None:
    """Register the node(s) in a file; one bad node rejects the whole file."""
    document = load_document(conf)
    with backend(url) as b:
        added = b.add_nodes(document, str(conf))
    console.print(f"[green]added {len(added)} node(s):[/] {', '.join(added)}")


@app.command("add-service")
@handle_errors
def add_service(conf: RequiredConf, app_name: App = None, url: Url = None) -> None:
    """Register the service(s) in a file; their replicas join the placement queue."""
    document = load_document(conf)
    with backend(url) as b:
        added = b.add_services(document, str(conf), app_name)
    console.print(f"[green]added {len(added)} service(s):[/] {', '.join(added)}")


@app.command("get-node")
@handle_errors
def get_node(
    name: Annotated[str | None, typer.Option(help="one node; default all")] = None,
    conf: Conf = None,
    url: Url = None,
    as_json: Json = False,
) -> None:
    """Show nodes with used and free capacity (derived from the placed replicas)."""
    if conf is not None:
        # ROHE's GET ALL NODES file carries nothing more than the request itself, but it must be one
        expect_command(load_document(conf), str(conf), "GET ALL NODES")
    with backend(url) as b:
        nodes = [b.get_node(name)] if name else b.list_nodes()
    _emit([n.model_dump(mode="json") for n in nodes], as_json, nodes_table(nodes))


@app.command("get-service")
@handle_errors
def get_service(
    name: Annotated[str | None, typer.Option(help="one service; default all")] = None,
    app_name: App = None,
    conf: Conf = None,
    url: Url = None,
    as_json: Json = False,
) -> None:
    """Show services and where their replicas are."""
    if conf is not None:
        # ROHE's GET ALL SERVICES envelope names the requesting client in `application`, not a filter.
        expect_command(load_document(conf), str(conf), "GET ALL SERVICES")
    with backend(url) as b:
        services = [b.get_service(name)] if name else b.list_services(app_name)
        wanted = {s.name for s in services}
        replicas = [r for r in b.replicas() if r.service in wanted]
    _emit([s.model_dump(mode="json") for s in services], as_json, services_table(services, replicas))


@app.command("get-placement")
@handle_errors
def get_placement(url: Url = None, as_json: Json = False) -> None:
    """Show every replica: where it is, or why it is still queued."""
    with backend(url) as b:
        replicas = b.replicas()
    _emit([r.model_dump(mode="json") for r in replicas], as_json, replicas_table(replicas))


@app.command("remove-node")
@handle_errors
def remove_node(
    name: Annotated[list[str] | None, typer.Option("--name", help="node to remove (repeatable)")] = None,
    conf: Conf = None,
    url: Url = None,
) -> None:
    """Remove nodes by name, every node named in a file, or all (ROHE's REMOVE ALL NODE file)."""
    names = list(name or [])
    remove_all = False
    if conf is not None:
        document = load_document(conf)
        command = read_command(document)
        if command is not None and "ALL" in command.command.upper():
            remove_all = True
        else:
            names += [n.name for n in read_nodes(document, str(conf))]
    if not names and not remove_all:
        raise InvalidInput("nothing to remove", [Problem("--name", "no node given", "pass --name NODE or --conf FILE")])
    with backend(url) as b:
        requeued = b.remove_all_nodes() if remove_all else [r for n in names for r in b.remove_node(n)]
    console.print(f"[green]removed {'all nodes' if remove_all else ', '.join(names)}[/]; requeued: {len(requeued)}")


@app.command("drain-node")
@handle_errors
def drain_node(name: Annotated[str, typer.Option("--name")], url: Url = None) -> None:
    """Cordon a node and put its replicas back in the queue."""
    with backend(url) as b:
        requeued = b.drain_node(name)
    console.print(f"[green]drained {name}[/]; requeued: {', '.join(requeued) or 'nothing'}")


@app.command("remove-service")
@handle_errors
def remove_service(
    name: Annotated[list[str] | None, typer.Option("--name", help="service to remove (repeatable)")] = None,
    app_name: App = None,
    url: Url = None,
) -> None:
    """Remove services (or a whole application with --app); what they held is free again."""
    if not name and not app_name:
        raise InvalidInput("nothing to remove", [Problem("--name", "no service given", "pass --name or --app")])
    with backend(url) as b:
        removed = list(name or [])
        for service in removed:
            b.remove_service(service)
        if app_name:
            removed += b.remove_application(app_name)
    console.print(f"[green]removed:[/] {', '.join(removed) or 'nothing'}")


@app.command("start-agent")
@handle_errors
def start_agent(conf: Conf = None, app_name: App = None, url: Url = None) -> None:
    """Start the agent that drains the queue in the background."""
    if conf is not None:
        expect_command(load_document(conf), str(conf), "START AGENT")
    with backend(url) as b:
        console.print_json(json.dumps(b.start_agent()))


@app.command("stop-agent")
@handle_errors
def stop_agent(conf: Conf = None, app_name: App = None, url: Url = None) -> None:
    """Stop the background agent; queued replicas wait until it starts again."""
    if conf is not None:
        expect_command(load_document(conf), str(conf), "STOP AGENT")
    with backend(url) as b:
        console.print_json(json.dumps(b.stop_agent()))


@app.command("plan")
@handle_errors
def plan(
    algorithm: Annotated[str | None, typer.Option(help="placement algorithm; default from config")] = None,
    replan: Annotated[bool, typer.Option(help="plan every replica from scratch, not just the queue")] = False,
    url: Url = None,
    as_json: Json = False,
    from_contracts: Annotated[
        list[Path] | None,
        typer.Option("--from-contracts", help="consumer contract file(s): derive replicas and node types from them"),
    ] = None,
    profiles: Annotated[Path | None, typer.Option(help="model profiles CSV, with --from-contracts")] = None,
) -> None:
    """Dry run: what would go where, and why. Changes nothing. With --from-contracts: how many replicas each
    model service needs for the consumers' contracts, and which node types suit it, and why."""
    if from_contracts:
        if profiles is None:
            raise InvalidInput("--from-contracts needs --profiles",
                               [Problem("profiles", "is missing", "pass --profiles PROFILES.csv")])
        plan_from_contracts(from_contracts, profiles, url, as_json)
        return
    if profiles is not None:
        raise InvalidInput("--profiles is only used with --from-contracts",
                           [Problem("from_contracts", "is missing", "pass --from-contracts CONTRACT.yaml")])
    with backend(url) as b:
        result = b.plan(algorithm, replan)
    _emit(asdict(result), as_json, plan_table(result))


@app.command("place")
@handle_errors
def place(
    algorithm: Annotated[str | None, typer.Option(help="placement algorithm; default from config")] = None,
    url: Url = None,
) -> None:
    """Run one placement round now and store the result."""
    with backend(url) as b:
        summary = b.place(algorithm)
    console.print(
        f"[green]{summary['algorithm']}: placed {len(summary['placed'])}[/], still queued {len(summary['queued'])}"
    )
    for replica, reason in summary["queued"].items():
        console.print(f"  [yellow]{replica}[/]: {reason}")


def _requirements_table(requirements: list[Any]) -> Any:
    from rich.table import Table

    table = Table(title="requirements derived from the contracts", show_lines=True)
    for column in ("service", "replicas", "why N replicas", "preferred node types", "why"):
        table.add_column(column, overflow="fold")
    for r in requirements:
        count = "-" if r.replicas is None else str(r.replicas)
        style = "[red]" if r.replicas is None or r.over_budget else ""
        table.add_row(r.service, f"{style}{count}", r.why_replicas, ", ".join(r.preferred) or "-", r.why_nodes)
    return table


def plan_from_contracts(contracts: list[Path], profiles: Path, url: str | None, as_json: bool) -> None:
    """Derive replicas and node-type preferences per model service from consumer contracts and profiles."""
    from rohe.core.contracts import load_contract
    from rohe.core.profiles import load_catalog
    from rohe.orchestration.requirements import derive

    loaded = [load_contract(path) for path in contracts]
    catalog = load_catalog(profiles)
    with backend(url) as b:
        services = b.list_services(None)
        nodes = [usage.node for usage in b.list_nodes()]
    from rohe.orchestration.scaling import node_type_of

    types = sorted({node_type_of(n) for n in nodes}) if nodes else None
    requirements = derive(loaded, catalog, services or None, types)
    if not requirements:
        raise InvalidInput(
            "no model service to size",
            [Problem("services", "no registered service serves a profiled model",
                     "register the pipeline's services, or name them after the models (ROHE_MODEL env)")],
        )
    rows = [{k: v for k, v in asdict(r).items() if k != "options"} for r in requirements]
    _emit(rows, as_json, _requirements_table(requirements))
