"""`rohe demo`: the serving demo on the embedded defaults (see rohe.demo.run for what it does).

The demo pulls in scikit-learn, matplotlib, OR-Tools and the whole platform: it is imported when the command
runs, never when the CLI starts.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from rohe.cli.errors import handle_errors
from rohe.core.errors import InvalidInput, Problem
from rohe.demo.signals import Terminated, stop_signals


def _known_app(name: str) -> str:
    # The registry only lists descriptors (nothing heavy is imported), so checking here costs nothing.
    from rohe.examples.registry import example_app

    return example_app(name).name


@handle_errors
def demo(
    app_name: Annotated[
        str,
        typer.Option(
            "--app",
            help="the example application: object-classification, bts, cctvs or smart-building",
        ),
    ] = "object-classification",
    out: Annotated[Path, typer.Option(help="folder for the report (CSV, JSON, plots, manifests)")] = Path(
        "reports/demo"
    ),
    data_dir: Annotated[
        Path | None, typer.Option(help="keep the demo's state and trained models here; default a temporary folder")
    ] = None,
    duration: Annotated[float, typer.Option(help="scale every load phase's length (1 = 60 s of load)")] = 1.0,
    quick: Annotated[
        bool, typer.Option("--quick", help="a short run (~8 s of load) for tests and a first look")
    ] = False,
    scenario: Annotated[
        str, typer.Option(help="serving (the default demo) or closed-loop (the adaptation controller)")
    ] = "serving",
    controller: Annotated[
        str, typer.Option(help="closed-loop only: on (runs with and without, side by side) or off")
    ] = "on",
    live: Annotated[
        bool, typer.Option("--live", help="closed-loop only: real model processes, gateway and load (not simulated)")
    ] = False,
    keep_ui: Annotated[
        bool, typer.Option("--keep-ui", help="afterwards, serve the operator console on the demo's store until Ctrl-C")
    ] = False,
) -> None:
    """Place an example app's pipeline on an edge cluster, serve its consumers under load while a model
    service crashes and is restarted, and compare the scheduling algorithms."""
    if not duration > 0:
        raise InvalidInput("invalid --duration", [Problem("duration", f"is {duration}", "use a number above 0")])
    if scenario not in ("serving", "closed-loop"):
        raise InvalidInput("unknown --scenario",
                           [Problem("scenario", f"is {scenario!r}", "use serving or closed-loop")])
    if controller not in ("on", "off"):
        raise InvalidInput("invalid --controller", [Problem("controller", f"is {controller!r}", "use on or off")])
    if live and scenario != "closed-loop":
        raise InvalidInput("--live is for the closed-loop scenario",
                           [Problem("live", f"given with --scenario {scenario}", "add --scenario closed-loop")])
    if scenario == "closed-loop":
        _closed_loop(out, data_dir, quick=quick, controller=controller == "on", live=live)
        return
    name = _known_app(app_name)
    started = time.perf_counter()
    console = Console()
    if not console.is_terminal:
        console.width = 120  # a log or a pipe has no width; rich's 80-column guess would split the table
    with stop_signals(), tempfile.TemporaryDirectory(prefix="rohe-demo-") as scratch:
        try:
            console.print(f"rohe demo {name}: loading the platform and the example (scikit-learn, OR-Tools, ...)")
            from rohe.demo.run import DemoOptions, run_demo

            options = DemoOptions(
                out=out, data_dir=data_dir or Path(scratch), scale=duration, quick=quick, app=name
            )
            run_demo(options, console)
            console.print(f"demo finished in {time.perf_counter() - started:.0f} s")
            if keep_ui:
                _keep_console(options.data_dir, out, console)
                return
        except KeyboardInterrupt as stopped:
            console.print(f"[yellow]{str(stopped) or 'interrupted'}: everything the demo started has been stopped[/]")
            raise typer.Exit(130 if not isinstance(stopped, Terminated) else 143) from None


def _closed_loop(out: Path, data_dir: Path | None, *, quick: bool, controller: bool, live: bool) -> None:
    console = Console()
    if not console.is_terminal:
        console.width = 140  # a log or a pipe has no width; rich's 80-column guess folds the timeline
    with stop_signals(), tempfile.TemporaryDirectory(prefix="rohe-closed-loop-") as scratch:
        try:
            if live:
                from rohe.demo.closed_loop_live import run_live_closed_loop

                run_live_closed_loop(out, data_dir or Path(scratch), console, quick=quick, controller=controller)
            else:
                from rohe.demo.closed_loop import run_closed_loop

                run_closed_loop(out, data_dir or Path(scratch), console, quick=quick, controller=controller)
        except KeyboardInterrupt as stopped:
            console.print(f"[yellow]{str(stopped) or 'interrupted'}: everything the demo started has been stopped[/]")
            raise typer.Exit(130 if not isinstance(stopped, Terminated) else 143) from None


def _keep_console(data_dir: Path, out: Path, console: Console) -> None:
    """The operator console on the demo's own store and report folder, until Ctrl-C (or SIGTERM)."""
    from rohe.core.config import Settings
    from rohe.ui.server import start_console

    server, url = start_console(Settings(data_dir=data_dir), reports_dirs=[out])
    console.print(f"[bold]operator console: {url}[/] (Ctrl-C stops it)")
    try:
        while True:
            time.sleep(1.0)
    except KeyboardInterrupt:
        console.print("console stopped")
    finally:
        server.stop()
