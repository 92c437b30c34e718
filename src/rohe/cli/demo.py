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
) -> None:
    """Place an example app's pipeline on an edge cluster, serve its consumers under load while a model
    service crashes and is restarted, and compare the scheduling algorithms."""
    if not duration > 0:
        raise InvalidInput("invalid --duration", [Problem("duration", f"is {duration}", "use a number above 0")])
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
        except KeyboardInterrupt as stopped:
            console.print(f"[yellow]{str(stopped) or 'interrupted'}: everything the demo started has been stopped[/]")
            raise typer.Exit(130 if not isinstance(stopped, Terminated) else 143) from None
    console.print(f"demo finished in {time.perf_counter() - started:.0f} s")
