"""`rohe ui`: serve the API with its operator console and print the console's URL.

The same process as `rohe start orchestration-service` (one store, one token, agents resume); the console lists
report folders under the data dir and, with `--reports`, under that folder too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rohe.cli.errors import handle_errors
from rohe.core.config import load_settings


@handle_errors
def ui(
    host: Annotated[str | None, typer.Option(help="bind address; default api.host (127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="port; default api.port (5010)")] = None,
    reports: Annotated[
        Path | None,
        typer.Option(help="a folder of reports to list besides the data dir", exists=True, file_okay=False),
    ] = None,
) -> None:
    """Serve the operator console at http://HOST:PORT/ui (and the API beside it); Ctrl-C stops it."""
    import uvicorn

    from rohe.api.app import create_app
    from rohe.core.auth import check_bind
    from rohe.ui import console_url

    settings = load_settings()
    host = host or settings.api.host
    port = port or settings.api.port
    check_bind(host, settings.api.token)
    settings.ensure_data_dir()
    app = create_app(settings, reports_dirs=[reports] if reports else ())
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"rohe console: {console_url(f'http://{shown}:{port}')}", err=False)
    if settings.api.token:
        typer.echo("sign in with the API token (api.token / ROHE_API__TOKEN)")
    uvicorn.run(app, host=host, port=port, log_level="warning")


def main() -> None:
    typer.run(ui)


if __name__ == "__main__":
    main()
