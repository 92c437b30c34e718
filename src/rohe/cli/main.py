"""Entry point of the `rohe` command.

Commands are imported when they run (rohe.cli.lazy), so `rohe --help` and `rohe version` start in a fraction
of a second; tests/cli/test_cli_start.py checks that importing this module pulls in none of the heavy
libraries.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

import typer

from rohe import __version__
from rohe.cli.errors import handle_errors
from rohe.cli.lazy import LazyCommand, lazy_group


def _with_deploy(orchestration: typer.Typer) -> None:
    from rohe.cli import deploy

    if not any(c.name == "deploy" for c in orchestration.registered_commands):
        orchestration.command("deploy")(deploy.deploy)


def _with_site_events(observation: typer.Typer) -> None:
    from rohe.cli import site_events

    if not any(c.name == "site-events" for c in observation.registered_commands):
        observation.command("site-events")(site_events.site_events)


COMMANDS = [
    LazyCommand(
        "demo",
        "rohe.cli.demo:demo",
        "Place an example app's pipeline (--app), serve its consumers under load while a model crashes; "
        "compare schedulers.",
    ),
    LazyCommand(
        "profile",
        "rohe.cli.profile:profile_command",
        "Measure an example's models on this machine and write the profile CSV.",
        wrap=handle_errors,
    ),
    LazyCommand(
        "loadgen",
        "rohe.cli.loadgen:loadgen_command",
        "Send a workload (YAML) to a gateway, open-loop, and write the report.",
        wrap=handle_errors,
    ),
    LazyCommand("start", "rohe.cli.start:app", "Start a rohe service."),
    LazyCommand(
        "orchestration",
        "rohe.cli.orchestration:app",
        "Register nodes and services, place replicas, deploy them.",
        extend=_with_deploy,
    ),
    LazyCommand(
        "observation",
        "rohe.cli.observation:app",
        "Observe running apps: register them, run agents, read windows, violations and incidents.",
        extend=_with_site_events,
    ),
    LazyCommand(
        "control",
        "rohe.cli.control:app",
        "The adaptation controller: run it, read its decisions, pause, resume, pin.",
    ),
    LazyCommand("ui", "rohe.cli.ui:ui", "Serve the operator console (prints its URL) and the API."),
    LazyCommand(
        "experiment",
        "rohe.cli.experiment:app",
        "Replay recorded traces, simulate clusters, run and compare experiment specs.",
    ),
]

app = typer.Typer(
    name="rohe",
    help="Run ML inference pipelines on edge clusters and keep them inside their contracts.",
    no_args_is_help=True,
    cls=lazy_group(COMMANDS),
)


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


if __name__ == "__main__":
    app()
