"""`rohe start ...`: run a rohe service in the foreground.

The servers (uvicorn, the API, the gateway, the platform) are imported inside the commands, so `rohe start
--help` and the CLI's start stay fast.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer

from rohe.cli.errors import handle_errors
from rohe.core.config import load_settings

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
        list[str], typer.Option("--endpoint", help="model=URL of a running model service; repeat per replica")
    ],
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
) -> None:
    """Serve a pipeline's models through the serving gateway (POST /infer, /feedback; docs at /docs)."""
    import uvicorn

    from rohe.core.auth import check_bind
    from rohe.core.shutdown import exit_cleanly_on_sigterm
    from rohe.observation.embedded import observed_run
    from rohe.platform import Platform
    from rohe.serving.gateway import build_gateway, create_gateway_app, parse_endpoint_options
    from rohe.serving.pipeline import load_pipeline

    settings = load_settings()
    check_bind(host, settings.api.token)
    spec = load_pipeline(pipeline)
    exit_cleanly_on_sigterm()  # so the stack below unwinds: the probe drains, the agent stores its last window
    with contextlib.ExitStack() as stack:
        sink = None
        if observe:
            platform = Platform.open(settings)
            stack.callback(platform.close)
            observed = stack.enter_context(
                observed_run(platform.observation, spec.application, run, contracts, window_s=window)
            )
            sink = observed.probe
        gateway = build_gateway(
            spec,
            profiles,
            contracts,
            parse_endpoint_options(endpoint),
            default_algorithm=algorithm,
            plugins=plugin or (),
            run=run,
            max_in_flight=max_in_flight,
            sink=sink,
        )
        uvicorn.run(create_gateway_app(gateway, settings.api.token), host=host, port=port, log_level="info")
