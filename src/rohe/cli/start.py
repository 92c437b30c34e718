"""`rohe start ...`: run a rohe service in the foreground.

The servers (uvicorn, the API, the gateway, the platform) are imported inside the commands, so `rohe start
--help` and the CLI's start stay fast.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rohe.cli.errors import handle_errors
from rohe.core.config import Settings, load_settings

if TYPE_CHECKING:
    from rohe.edge.outbox import OutboxForwarder
    from rohe.platform import Platform

app = typer.Typer(help="Start a rohe service.", no_args_is_help=True)


HostOption = Annotated[str | None, typer.Option(help="bind address; default api.host (127.0.0.1)")]
PortOption = Annotated[int | None, typer.Option(help="port; default api.port (5010)")]


@app.command("orchestration-service")
@handle_errors
def orchestration_service(host: HostOption = None, port: PortOption = None) -> None:
    """Serve rohe's API (orchestration and observation; OpenAPI docs at /docs); agents resume where they were."""
    _serve_api(host, port)


@app.command("observation-service")
@handle_errors
def observation_service(host: HostOption = None, port: PortOption = None) -> None:
    """Serve rohe's API (the same process as orchestration-service): recorded observation agents resume,
    retention runs, /observation/metrics exposes the windows to Prometheus."""
    _serve_api(host, port)


def _serve_api(host: str | None, port: int | None) -> None:
    # One API process serves every service of an installation: they share one store and one token.
    import uvicorn

    from rohe.api.app import create_app
    from rohe.core.auth import check_bind

    settings = load_settings()
    host = host or settings.api.host
    port = port or settings.api.port
    check_bind(host, settings.api.token)
    settings.ensure_data_dir()
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


@app.command("serving-service")
@handle_errors
def serving_service(
    pipeline: Annotated[Path, typer.Option(help="pipeline spec (stages, modalities, services)")],
    contracts: Annotated[list[Path], typer.Option("--contracts", help="consumer contract file; repeat per consumer")],
    profiles: Annotated[Path, typer.Option(help="profile CSV (`rohe profile --out`)")],
    endpoint: Annotated[
        list[str] | None,
        typer.Option("--endpoint", help="model=URL of a running model service; repeat per replica"),
    ] = None,
    follow: Annotated[
        str | None,
        typer.Option(help="orchestration API URL: follow its placements live (instead of --endpoint), cached "
                     "in the data dir so the site keeps serving while it is unreachable"),
    ] = None,
    resolver: Annotated[
        str, typer.Option(help="with --follow: how a replica becomes a URL (local | template)")
    ] = "local",
    replica_url: Annotated[
        str | None, typer.Option(help="with --resolver template: e.g. http://{node}:{port}")
    ] = None,
    follow_interval: Annotated[float, typer.Option(help="seconds between placement polls", min=0.1)] = 1.0,
    algorithm: Annotated[str, typer.Option(help="default scheduler (see GET /algorithms)")] = "adaptive",
    plugin: Annotated[
        list[str] | None, typer.Option("--plugin", help="extra scheduler by entry point or module:attr")
    ] = None,
    run: Annotated[str, typer.Option(help="run label on the reports")] = "default",
    max_in_flight: Annotated[
        int | None, typer.Option(help="requests fanning out at once; more wait, highest plan priority first")
    ] = None,
    host: Annotated[str, typer.Option(help="bind address; beyond loopback only with api.token set")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 5020,
    observe: Annotated[
        bool,
        typer.Option(
            help="report every request to observation (transport from settings; with inproc, the agent judging "
            "the contracts runs in this process and stores windows and violations in the local store)"
        ),
    ] = True,
    window: Annotated[float, typer.Option(help="observation window in seconds (inproc agent)", min=0.1)] = 10.0,
    report_to: Annotated[
        str | None,
        typer.Option(help="central API URL the site's outbox sends its violations, decisions and policy changes "
                     "to (kept in the data dir while it is unreachable); default: the --follow URL"),
    ] = None,
    site: Annotated[str | None, typer.Option(help="this site's name in the centre's site events; default: host name")]
    = None,
) -> None:
    """Serve a pipeline's models through the serving gateway (POST /infer, /feedback; docs at /docs)."""
    import uvicorn

    from rohe.core.auth import check_bind
    from rohe.core.errors import InvalidInput, Problem
    from rohe.core.shutdown import exit_cleanly_on_sigterm
    from rohe.edge import SiteCache
    from rohe.edge.outbox import policy_event
    from rohe.observation.embedded import observed_run
    from rohe.platform import Platform
    from rohe.serving.gateway import build_gateway, create_gateway_app, parse_endpoint_options
    from rohe.serving.gateway.endpoints_watch import EndpointFollower, follow_placements
    from rohe.serving.gateway.replica_urls import make_resolver
    from rohe.serving.gateway.service import ServingGateway
    from rohe.serving.pipeline import load_pipeline

    settings = load_settings()
    check_bind(host, settings.api.token)
    central = report_to or follow
    site_name = _site_name(site) if central else None  # refused before anything starts
    if report_to is not None and not report_to.startswith(("http://", "https://")):
        raise InvalidInput("--report-to is not an HTTP URL",
                           [Problem("--report-to", repr(report_to), "e.g. http://CENTRAL:5010")])
    spec = load_pipeline(pipeline)
    if bool(endpoint) == bool(follow):
        raise InvalidInput(
            "where are the models?",
            [Problem("--endpoint/--follow", "give exactly one", "--endpoint model=URL ... or --follow API_URL")],
        )
    make_follower: Callable[[ServingGateway], EndpointFollower] | None = None
    if follow:
        members, make_follower = follow_placements(
            spec,
            follow,
            make_resolver(resolver, replica_url or str(settings.data_dir / "local")),
            SiteCache(settings.data_dir / "edge"),
            token=settings.api.token,
            interval_s=follow_interval,
        )
    else:
        members = parse_endpoint_options(endpoint or [])
    exit_cleanly_on_sigterm()  # so the stack below unwinds: the probe drains, the agent stores its last window
    with contextlib.ExitStack() as stack:
        sink = None
        platform = Platform.open(settings) if observe else None
        if platform is not None:
            stack.callback(platform.close)
        # Closed after the agent (the stack unwinds backwards): its last pass journals the last violations.
        outbox = site_outbox(settings, central, site_name, spec.application, run, platform) \
            if central and site_name else None
        if outbox is not None:
            stack.callback(outbox.close)
        if platform is not None:
            observed = stack.enter_context(
                observed_run(platform.observation, spec.application, run, contracts, window_s=window)
            )
            sink = observed.probe
        gateway = build_gateway(
            spec,
            profiles,
            contracts,
            members,
            default_algorithm=algorithm,
            plugins=plugin or (),
            run=run,
            max_in_flight=max_in_flight,
            sink=sink,
        )
        follower = make_follower(gateway) if make_follower is not None else None
        if outbox is not None:
            gateway.policy_listeners.append(
                lambda policy: outbox.record([policy_event(spec.application, run, policy.consumer,
                                                           policy.model_dump(exclude={"consumer"}))])
            )
        uvicorn.run(create_gateway_app(gateway, settings.api.token, follower), host=host, port=port, log_level="info")


def site_outbox(
    settings: Settings, central: str, site: str, app: str, run: str, platform: Platform | None
) -> OutboxForwarder:
    """The site's outbox (in `<data dir>/edge/outbox`) and its forwarder to the central API: the violations the
    site's agent stores, the decisions a controller at the site records, and (hooked by the caller) the
    gateway's policy changes."""
    from rohe.control.records import ControlState, decision_events
    from rohe.edge.outbox import OutboxForwarder, SiteOutbox, Source, violation_source

    sources: list[Source] = []
    if platform is not None:
        state = ControlState(platform.store, app, run)
        sources = [violation_source(platform.observation.store, app, run), lambda: decision_events(state)]
    outbox = SiteOutbox(settings.data_dir / "edge" / "outbox")
    return OutboxForwarder(outbox, central, site, sources, token=settings.api.token).start()


def _site_name(site: str | None) -> str:
    import socket

    from rohe.core.errors import InvalidInput, Problem
    from rohe.observation.site_events import SITE_NAME

    name = site or socket.gethostname()
    if not re.match(SITE_NAME, name):
        raise InvalidInput("invalid site name", [Problem("--site", repr(name), "letters, digits, '.', '_' and '-', "
                                                          "starting with a letter or digit (at most 200)")])
    return name
