"""`rohe start ...`: run a rohe service in the foreground."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from rohe.api.app import create_app
from rohe.api.security import check_bind
from rohe.cli.errors import handle_errors
from rohe.core.config import load_settings

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
