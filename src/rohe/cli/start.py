"""`rohe start ...`: run a rohe service in the foreground."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from rohe.api.app import create_app
from rohe.api.security import check_bind
from rohe.cli.errors import handle_errors
from rohe.core.config import load_settings
from rohe.serving.gateway import build_gateway, create_gateway_app, parse_endpoint_options

app = typer.Typer(help="Start a rohe service.", no_args_is_help=True)


@app.command("orchestration-service")
@handle_errors
def orchestration_service(
    host: Annotated[str | None, typer.Option(help="bind address; default api.host (127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="port; default api.port (5010)")] = None,
) -> None:
    """Serve the orchestration API (OpenAPI docs at /docs); the agent resumes if it was running."""
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
) -> None:
    """Serve a pipeline's models through the serving gateway (POST /infer, /feedback; docs at /docs)."""
    settings = load_settings()
    check_bind(host, settings.api.token)
    gateway = build_gateway(
        pipeline,
        profiles,
        contracts,
        parse_endpoint_options(endpoint),
        default_algorithm=algorithm,
        plugins=plugin or (),
        run=run,
        max_in_flight=max_in_flight,
    )
    uvicorn.run(create_gateway_app(gateway, settings.api.token), host=host, port=port, log_level="info")
