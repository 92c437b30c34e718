"""`rohe loadgen`: drive a running gateway with a workload profile file and write the report folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from rohe.examples.workload import example_samples
from rohe.serving.loadgen import load_workload_profile, run_workload


def loadgen_command(
    url: str,
    profile: Path,
    out: Path = Path("reports/load"),
    token: Annotated[
        str | None,
        typer.Option(
            envvar="ROHE_API__TOKEN",
            show_default=False,
            help="bearer token for a gateway started with one (default: $ROHE_API__TOKEN)",
        ),
    ] = None,
) -> None:
    """Send the workload in PROFILE (YAML) to the gateway at URL, open-loop, and write the report to OUT.

    Inputs and labels are the object-classification example's held-out split (raw pixels).
    """
    from rohe.serving.report import summary_table, write_report  # matplotlib only when a run is made

    console = Console()
    workload = load_workload_profile(profile)
    run = run_workload(url, workload, example_samples(), progress=True, console=console, token=token or None)
    write_report(run, out, title=workload.name, phase_rates={p.name: p.rate for p in workload.resolved()})
    console.print(summary_table(run.summary(), title=workload.name))
    console.print(f"report in {out}")
