"""`rohe observation ...`: register apps, run observation agents, read windows, violations and incidents, build
reports.

Without `--url` the commands work on the local store (embedded mode); agents started there are recorded and
run by `rohe start observation-service`. With `--url` they talk to a running service.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from rohe.cli.errors import handle_errors
from rohe.core.config import TransportKind, load_settings
from rohe.core.errors import InvalidInput, Problem
from rohe.core.loading import load_document
from rohe.observation.registration import AppRegistration, write_registration

if TYPE_CHECKING:
    # The backends pull in the store and the observation service, the agent's pod the Kubernetes client:
    # imported inside the commands that use them, so the CLI starts fast (rohe.cli.lazy).
    from rohe.cli.observation_backend import ObservationBackend
    from rohe.observation.deploy import AgentPod

app = typer.Typer(help="Observe running apps: register them, run agents, read windows, violations and incidents.",
                  no_args_is_help=True)
console = Console()

AppName = Annotated[str, typer.Option("--app", help="application name")]
Run = Annotated[str | None, typer.Option("--run", help="run name; default: every run (reads) or 'default'")]
Url = Annotated[str | None, typer.Option("--url", help="URL of a running observation service; default: embedded")]
Json = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]


@contextmanager
def backend(url: str | None) -> Iterator[ObservationBackend]:
    from rohe.cli.observation_backend import open_observation_backend

    b = open_observation_backend(load_settings(), url)
    try:
        yield b
    finally:
        b.close()


def _print_json(data: Any) -> None:
    console.print_json(json.dumps(data, default=str))


@app.command("register-app")
@handle_errors
def register_app(
    app_name: AppName,
    run: Annotated[str, typer.Option("--run", help="run name")] = "default",
    user: Annotated[str, typer.Option("--user", help="who registers it")] = "default",
    url: Url = None,
    output_dir: Annotated[
        Path | None, typer.Option("--output_dir", "--output-dir", help="write <DIR>/<app>-<run>.json here")
    ] = None,
    app_url: Annotated[str | None, typer.Option("--app-url", help="where the app answers (its gateway)")] = None,
    transport: Annotated[
        str | None, typer.Option("--transport", help="inproc | mqtt | amqp | nats | nats-jetstream")
    ] = None,
    broker_url: Annotated[str | None, typer.Option("--broker-url", help="broker URL, without a password")] = None,
    credentials_env: Annotated[
        str | None, typer.Option("--credentials-env", help="NAME of the env variable holding the broker secret")
    ] = None,
) -> None:
    """Register an app run for observation; prints its id and probe config (idempotent)."""
    with backend(url) as b:
        registration = b.register_app(
            app_name, run, user, app_url, _transport(transport), broker_url, credentials_env
        )
    if output_dir is not None:
        written = write_registration(registration, output_dir)
        console.print(f"[green]wrote {written}[/]", highlight=False)
    _print_json(registration.model_dump(mode="json"))


@app.command("delete-app")
@handle_errors
def delete_app(
    app_name: AppName,
    run: Run = None,
    keep_metrics: Annotated[
        bool, typer.Option("--keep-metrics/--drop-metrics", help="keep stored windows and violations")
    ] = True,
    url: Url = None,
) -> None:
    """Unregister an app (one run or all); its agents stop. Metrics stay unless --drop-metrics."""
    with backend(url) as b:
        removed = b.delete_app(app_name, run, keep_metrics)
    runs = ", ".join(r["run"] for r in removed)
    kept = "kept" if keep_metrics else "deleted"
    console.print(f"[green]removed {app_name} (run(s): {runs}); metrics {kept}[/]", highlight=False)


@app.command("list-apps")
@handle_errors
def list_apps(app_name: Annotated[str | None, typer.Option("--app", help="only this app")] = None,
              url: Url = None, as_json: Json = False) -> None:
    """Show registered apps."""
    with backend(url) as b:
        apps = b.list_apps(app_name)
    if as_json:
        _print_json([a.model_dump(mode="json") for a in apps])
    else:
        console.print(_apps_table(apps))


@app.command("start-observation-agent")
@handle_errors
def start_observation_agent(
    app_name: AppName,
    conf: Annotated[Path, typer.Option("--conf", help="agent config (YAML/JSON): windows, transport, contracts")],
    run: Annotated[str | None, typer.Option("--run", help="run name; default: the config's, else 'default'")] = None,
    url: Url = None,
    foreground: Annotated[
        bool, typer.Option("--foreground", help="embedded: run the agent here until Ctrl-C or SIGTERM")
    ] = False,
    target: Annotated[
        str, typer.Option("--target", help="local (this process or the service) | kubernetes (its own pod)")
    ] = "local",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="kubernetes: write YAML to --out, apply nothing")] = False,
    out: Annotated[Path, typer.Option("--out", help="kubernetes: folder for the YAML")] = Path("manifests"),
    kubeconfig: Annotated[Path | None, typer.Option("--kubeconfig", help="kubernetes: apply to this cluster")] = None,
    namespace: Annotated[str | None, typer.Option("--namespace", help="default: deploy.namespace")] = None,
    image: Annotated[
        str | None, typer.Option("--image", help="kubernetes: container image with rohe; default rohe/rohe:latest")
    ] = None,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="kubernetes: the database the pod writes to (no password)")
    ] = None,
    secret: Annotated[
        str | None, typer.Option("--secret", help="kubernetes: Secret loaded as env (ROHE_DATABASE_URL, broker)")
    ] = None,
    node: Annotated[str | None, typer.Option("--node", help="kubernetes: pin the agent to this node")] = None,
) -> None:
    """Start the app's observation agent (embedded: record it for `rohe start observation-service`), or
    deploy it to Kubernetes with --target kubernetes."""
    config = read_agent_conf(conf, app_name, run)
    if target == "kubernetes" or dry_run or kubeconfig is not None:
        for given, option in ((url, "--url"), (foreground, "--foreground")):
            if given:
                raise InvalidInput("the agent is meant to run in its own pod",
                                   [Problem(option, "given with --target kubernetes", f"drop {option}")])
        from rohe.observation.deploy import DEFAULT_IMAGE, AgentPod

        pod = AgentPod(image=image or DEFAULT_IMAGE, namespace=namespace or load_settings().deploy.namespace,
                       database_url=database_url, secret=secret, node=node)
        _deploy_agent(config, pod, dry_run, out, kubeconfig)
        return
    if target != "local":
        raise InvalidInput("unknown target", [Problem("--target", f"'{target}'", "use local or kubernetes")])
    if foreground:
        if url:
            raise InvalidInput("--foreground runs the agent here", [Problem("--url", "given", "drop --url")])
        _run_in_foreground(app_name, config)
        return
    if url:
        config = _inline_rules(config)
    with backend(url) as b:
        status = b.start_agent(app_name, config)
    if status.running:
        where = "running"
    elif status.state != "stopped":
        where = f"{status.state}: {status.detail or 'waiting for the broker'}"
    else:
        where = "recorded; `rohe start observation-service` runs it"
    console.print(f"[green]observation agent of {status.app}/{status.run}: {where}[/]", highlight=False)


def _deploy_agent(config: dict[str, Any], pod: AgentPod, dry_run: bool, out: Path, kubeconfig: Path | None) -> None:
    from rohe.observation.deploy import apply_agent_manifests, build_agent_manifests, write_agent_manifests

    manifests = build_agent_manifests(config, pod)
    if dry_run:
        path = write_agent_manifests(manifests, out)
        console.print(f"[green]wrote {len(manifests)} object(s) to {path}[/]", highlight=False)
        return
    config_file = str(kubeconfig) if kubeconfig else load_settings().deploy.kubeconfig
    report = apply_agent_manifests(manifests, config_file, pod.namespace)
    console.print(f"[green]applied {', '.join(report.applied)}[/]", highlight=False)


@app.command("stop-observation-agent")
@handle_errors
def stop_observation_agent(app_name: AppName, run: Run = None, url: Url = None) -> None:
    """Stop the app's observation agent(s); open windows are flushed and stored."""
    with backend(url) as b:
        stopped = b.stop_agent(app_name, run)
    console.print(f"[green]stopped: {', '.join(f'{s.app}/{s.run}' for s in stopped)}[/]", highlight=False)


@app.command("agents")
@handle_errors
def agents(url: Url = None, as_json: Json = False) -> None:
    """Show recorded observation agents and, on a service, their counters."""
    with backend(url) as b:
        statuses = b.agents()
    if as_json:
        _print_json([s.model_dump(mode="json") for s in statuses])
        return
    table = Table(title=f"{len(statuses)} agent(s)")
    for column in ("app", "run", "desired", "running", "received", "windows"):
        table.add_column(column)
    for s in statuses:
        table.add_row(s.app, s.run, s.desired, str(s.running), str(s.stats.get("received", "-")),
                      str(s.stats.get("windows_emitted", "-")))
    console.print(table)


@app.command("windows")
@handle_errors
def windows(
    app_name: AppName,
    run: Run = None,
    consumer: Annotated[str | None, typer.Option("--consumer", help="one consumer; '*' = all together")] = None,
    since: Annotated[datetime | None, typer.Option("--since", help="windows ending after (ISO 8601)")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="newest N windows")] = 50,
    url: Url = None,
    as_json: Json = False,
) -> None:
    """Show stored metric windows, oldest first."""
    with backend(url) as b:
        found = b.windows(app_name, run, consumer, since, limit)
    if as_json:
        _print_json([w.model_dump(mode="json") for w in found])
        return
    table = Table(title=f"{len(found)} window(s) of {app_name}")
    for column in ("run", "consumer", "kind", "start", "s", "requests", "errors", "rps", "p99 ms", "accuracy"):
        table.add_column(column)
    for w in found:
        p99 = f"{w.end_to_end.p99_ms:.1f}" if w.end_to_end else "-"
        accuracy = f"{w.accuracy:.3f}" if w.accuracy is not None else "-"
        table.add_row(w.run, w.consumer, w.kind.value, w.start.isoformat(timespec="seconds"), f"{w.seconds:g}",
                      str(w.requests), str(w.errors), f"{w.throughput_rps:.1f}", p99, accuracy)
    console.print(table)


@app.command("violations")
@handle_errors
def violations(app_name: AppName, run: Run = None, url: Url = None, as_json: Json = False) -> None:
    """Show contract violations with their explanations."""
    with backend(url) as b:
        found = b.violations(app_name, run)
    if as_json:
        _print_json([v.model_dump(mode="json") for v in found])
        return
    table = Table(title=f"{len(found)} violation(s) of {app_name}")
    for column in ("window start", "consumer", "clause", "observed", "action", "explanation"):
        table.add_column(column)
    for v in found:
        observed = "no data" if v.observed is None else f"{v.observed:g}"
        table.add_row(v.window_start.isoformat(timespec="seconds"), v.consumer, v.clause, observed,
                      v.action.value, v.explanation)
    console.print(table)


@app.command("incidents")
@handle_errors
def incidents(app_name: AppName, run: Run = None, url: Url = None, as_json: Json = False) -> None:
    """Show diagnosed incidents (rule alerts, anomalies, violations) with suspected causes and narratives."""
    with backend(url) as b:
        found = b.incidents(app_name, run)
    if as_json:
        _print_json([i.model_dump(mode="json") for i in found])
        return
    from rohe.observation.reporting.incidents import incidents_table

    console.print(incidents_table(app_name, found))


@app.command("report")
@handle_errors
def report(
    app_name: AppName,
    run: Run = None,
    out: Annotated[Path | None, typer.Option("--out", help="write <DIR>/<app>-report.html")] = None,
    url: Url = None,
) -> None:
    """Summarise stored windows, violations and incidents; with --out also an HTML page with plots."""
    with backend(url) as b:
        found = b.windows(app_name, run, None, None, None)
        broken = b.violations(app_name, run)
        diagnosed = b.incidents(app_name, run)
    # Imported only when a report is asked for: it pulls in matplotlib.
    from rohe.observation.report import build_report

    result = build_report(app_name, found, broken, out, diagnosed)
    console.print(result.table)
    if result.incidents is not None:
        console.print(result.incidents)
    if result.html_path is not None:
        console.print(f"[green]wrote {result.html_path}[/]", highlight=False)


def read_agent_conf(conf: Path, app_name: str, run: str | None) -> dict[str, Any]:
    """The agent config document with --app/--run applied and contract paths made absolute (relative ones are
    relative to the config file, wherever the command runs)."""
    document = load_document(conf)
    if not isinstance(document, dict):
        raise InvalidInput(
            f"{conf} must be a mapping", [Problem(str(conf), "is not a mapping", "write 'windows: ...' and so on")]
        )
    for key, given in (("app", app_name), ("run", run)):
        if given is None:
            continue
        if key in document and document[key] != given:
            raise InvalidInput(
                f"{conf} is for another {key}",
                [Problem(key, f"the file says '{document[key]}', --{key} says '{given}'", "make them the same")],
            )
        document[key] = given
    quality = document.get("quality")
    if isinstance(quality, dict) and isinstance(quality.get("rules"), str) and not Path(quality["rules"]).is_absolute():
        quality["rules"] = str((conf.parent / quality["rules"]).resolve())
    contracts = document.get("contracts")
    if isinstance(contracts, list):
        document["contracts"] = [
            str(c if Path(c).is_absolute() else (conf.parent / c).resolve()) if isinstance(c, str) else c
            for c in contracts
        ]
    return document


def _inline_rules(config: dict[str, Any]) -> dict[str, Any]:
    """A server reads no file a client names (only its own data dir): a local rules file travels inline."""
    quality = config.get("quality")
    if not (isinstance(quality, dict) and isinstance(quality.get("rules"), str)):
        return config
    document = load_document(Path(quality["rules"]))
    rules = document.get("rules") if isinstance(document, dict) else None
    if not isinstance(rules, list):
        raise InvalidInput(
            f"{quality['rules']} holds no rules",
            [Problem("quality.rules", "the file has no 'rules:' list", "write 'rules: [...]' (docs/quality.md)")],
        )
    return {**config, "quality": {**quality, "rules": rules}}


def _run_in_foreground(app_name: str, config: dict[str, Any]) -> None:
    from rohe.cli.observation_backend import EmbeddedObservationBackend

    b = EmbeddedObservationBackend(load_settings())
    done = threading.Event()
    # SIGTERM too: Kubernetes stops a pod with it, and stopping flushes open windows and saves the agent state.
    previous = {sig: signal.signal(sig, lambda *_: done.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        status = b.service.start_agent(app_name, config)
        console.print(f"[green]observation agent of {status.app}/{status.run} running; Ctrl-C stops it[/]")
        done.wait()
        b.service.stop_agent(status.app, status.run)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        b.close()


def _transport(value: str | None) -> TransportKind | None:
    kinds: tuple[TransportKind, ...] = ("inproc", "mqtt", "amqp", "nats", "nats-jetstream")
    if value is None:
        return None
    for kind in kinds:
        if value == kind:
            return kind
    raise InvalidInput("unknown transport", [Problem("--transport", f"'{value}'", f"use one of {', '.join(kinds)}")])


def _apps_table(apps: list[AppRegistration]) -> Table:
    table = Table(title=f"{len(apps)} app run(s)")
    for column in ("app", "run", "user", "transport", "channel", "id"):
        table.add_column(column)
    for a in apps:
        table.add_row(a.app, a.run, a.user, a.probe.transport.kind, a.probe.transport.channel, str(a.app_id))
    return table
