"""Entry point of the `rohe` command."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

import typer

from rohe import __version__
from rohe.cli import demo, deploy, observation, orchestration, start
from rohe.cli.errors import handle_errors
from rohe.cli.loadgen import loadgen_command
from rohe.cli.profile import profile_command

app = typer.Typer(
    name="rohe",
    help="Run ML inference pipelines on edge clusters and keep them inside their contracts.",
    no_args_is_help=True,
)
app.add_typer(start.app, name="start")
orchestration.app.command("deploy")(deploy.deploy)
app.add_typer(orchestration.app, name="orchestration")
app.add_typer(observation.app, name="observation")
app.command("demo")(demo.demo)
app.command("profile")(handle_errors(profile_command))
app.command("loadgen")(handle_errors(loadgen_command))


@app.callback()
def root(
    config: Annotated[
        Path | None, typer.Option("--config", envvar="ROHE_CONFIG", help="config file (default ./rohe.yaml)")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log what happens")] = False,
) -> None:
    if config is not None:
        os.environ["ROHE_CONFIG"] = str(config)
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )


@app.command("version")
def version() -> None:
    """Print rohe's version."""
    typer.echo(__version__)
