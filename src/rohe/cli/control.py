"""`rohe control ...`: run the adaptation controller, read its decision records and status, steer it (pause,
resume, pin, unpin). Without `--url` the commands work on the local store; with it, on the API's /control."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from rohe.cli.backend import HttpBackend
from rohe.cli.errors import handle_errors
from rohe.core.config import load_settings
from rohe.core.errors import InvalidInput, Problem

if TYPE_CHECKING:
    from rohe.core.storage import Store

app = typer.Typer(help="The adaptation controller: run it, read its decisions, pause, resume, pin.",
                  no_args_is_help=True)
console = Console()

AppName = Annotated[str, typer.Option("--app", help="application name, as observed")]
RunName = Annotated[str, typer.Option("--run", help="app run")]
Url = Annotated[str | None, typer.Option("--url", help="URL of a running rohe service; default: embedded")]
Json = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]


class _Remote(HttpBackend):
    prefix = "/control"


@contextmanager
def _store() -> Iterator[Store]:
    from rohe.core.storage import Store  # SQLAlchemy loads when a command runs, not for --help

    store = Store.open(load_settings())
    try:
        yield store
    finally:
        store.close()


def _call(url: str, method: str, path: str, **kwargs: Any) -> Any:
    remote = _Remote(url, load_settings().api.token)
    try:
        return remote._call(method, path, **kwargs)
    finally:
        remote.client.close()


def _local(app_name: str, run: str, action: str, **kwargs: Any) -> Any:
    from rohe.control.records import ControlState

    with _store() as store:
        state = ControlState(store, app_name, run)
        if action == "decisions":
            return [r.model_dump(mode="json") for r in state.decisions(kwargs.get("consumer"), kwargs.get("limit"))]
        if action == "status":
            return state.status()
        if action in ("pause", "resume"):
            return state.pause(action == "pause", kwargs.get("note", "")).model_dump()
        return state.pin(kwargs["target"], action == "pin").model_dump()


def _decisions_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="decision records", show_lines=True)
    for column in ("at", "consumer", "trigger", "action", "status", "expected", "observed 1 window later"):
        table.add_column(column, overflow="fold")
    for r in rows:
        action = r["action"]
        params = ", ".join(f"{k}={v}" for k, v in sorted(action["params"].items()))
        expected = r.get("expected") or {}
        observed = r.get("observed")
        table.add_row(
            str(r["at"])[:19], r["consumer"], r["trigger"], f"{action['kind']} {action['target']} ({params})",
            f"{r['status']}: {r['detail']}",
            f"p99 {_ms(expected.get('p99_ms'))}, cost {expected.get('cost', 0):.4g}, "
            f"restores {expected.get('restores')}",
            "waiting" if observed is None else
            f"p99 {_ms(observed['p99_ms'])}, {'holds' if observed['holds'] else 'still violated'}",
        )
    return table


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} ms"


@app.command("decisions")
@handle_errors
def decisions(app_name: AppName, run: RunName = "default", consumer: Annotated[str | None, typer.Option()] = None,
              limit: Annotated[int | None, typer.Option(min=1, max=500)] = None, url: Url = None,
              as_json: Json = False) -> None:
    """Decision records: trigger, evidence, action, predicted and observed effect."""
    if url:
        params: dict[str, Any] = {"run": run, **({"consumer": consumer} if consumer else {}),
                                  **({"limit": limit} if limit else {})}
        rows = _call(url, "GET", f"/{app_name}/decisions", params=params)
    else:
        rows = _local(app_name, run, "decisions", consumer=consumer, limit=limit)
    if as_json:
        console.print_json(json.dumps(rows, default=str))
    else:
        console.print(_decisions_table(rows))


@app.command("status")
@handle_errors
def status(app_name: AppName, run: RunName = "default", url: Url = None) -> None:
    """Override, ensemble policy set by the controller, and the conditions of its last pass."""
    body = _call(url, "GET", f"/{app_name}/status", params={"run": run}) if url else _local(app_name, run, "status")
    console.print_json(json.dumps(body, default=str))


def _steer(action: str, app_name: str, run: str, url: str | None, **body: Any) -> None:
    if url:
        result = _call(url, "POST", f"/{app_name}/{action}", params={"run": run}, json=body or None)
    else:
        result = _local(app_name, run, action, **body)
    console.print_json(json.dumps(result))


@app.command("pause")
@handle_errors
def pause(app_name: AppName, run: RunName = "default", note: Annotated[str, typer.Option()] = "",
          url: Url = None) -> None:
    """Stop every controller action for this app run until `resume`."""
    _steer("pause", app_name, run, url, note=note)


@app.command("resume")
@handle_errors
def resume(app_name: AppName, run: RunName = "default", url: Url = None) -> None:
    _steer("resume", app_name, run, url)


@app.command("pin")
@handle_errors
def pin(app_name: AppName, target: Annotated[str, typer.Option(help="service or consumer")], run: RunName = "default",
        url: Url = None) -> None:
    """Never act on this service or consumer (its replicas and policy stay as they are)."""
    _steer("pin", app_name, run, url, target=target)


@app.command("unpin")
@handle_errors
def unpin(app_name: AppName, target: Annotated[str, typer.Option(help="service or consumer")],
          run: RunName = "default", url: Url = None) -> None:
    _steer("unpin", app_name, run, url, target=target)


@app.command("run")
@handle_errors
def run_controller(
    app_name: AppName,
    contracts: Annotated[list[Path], typer.Option("--contracts", help="consumer contract file(s)")],
    profiles: Annotated[Path, typer.Option(help="model profiles CSV")],
    run: RunName = "default",
    gateway: Annotated[str | None, typer.Option(help="serving gateway URL (policy actions)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="record what it would do, change nothing")] = False,
    interval: Annotated[float, typer.Option(min=0.1, help="seconds between passes")] = 10.0,
    cooldown: Annotated[float, typer.Option(min=0.0, help="seconds between two actions for a consumer")] = 60.0,
    once: Annotated[bool, typer.Option("--once", help="one pass, then exit")] = False,
) -> None:
    """Run the controller on the local store: each pass reads windows and violations, may act, records why."""
    from rohe.control import Controller, ControlSettings, GatewayPolicy, GuardSettings, PlatformActuator
    from rohe.core.contracts import load_contract
    from rohe.core.profiles import load_catalog
    from rohe.observation.store import ObservationStore
    from rohe.orchestration.service import OrchestrationService

    if not contracts:
        raise InvalidInput("no contracts", [Problem("contracts", "is empty", "pass --contracts FILE")])
    settings = load_settings()
    loaded = [load_contract(p) for p in contracts]
    catalog = load_catalog(profiles)
    with _store() as store:
        orchestration = OrchestrationService(store, settings.orchestration)
        policy = GatewayPolicy(gateway, settings.api.token) if gateway else None
        controller = Controller(
            store, ObservationStore(store), orchestration, app=app_name, run=run, contracts=loaded, catalog=catalog,
            actuator=PlatformActuator(orchestration, policy),
            settings=ControlSettings(GuardSettings(cooldown_s=cooldown), dry_run=dry_run),
        )
        try:
            while True:
                for record in controller.reconcile():
                    console.print(f"{record.consumer}: [bold]{record.action.text}[/] -> {record.status} "
                                  f"({record.trigger})")
                if once:
                    return
                time.sleep(interval)
        finally:
            if policy is not None:
                policy.close()
