"""Driving a running gateway with a workload profile file and writing the report folder (what
`python -m rohe.serving.loadgen` runs; shaped for a Typer command, like `rohe profile`)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from rohe.serving.loadgen.profile import load_workload_profile
from rohe.serving.loadgen.runner import run_workload
from rohe.serving.loadgen.samples import example_samples


def loadgen_command(url: str, profile: Path, out: Path = Path("reports/load")) -> None:
    """Send the workload in PROFILE (YAML) to the gateway at URL, open-loop, and write the report to OUT.

    Inputs and labels are the object-classification example's held-out split (raw pixels).
    """
    from rohe.serving.report import summary_table, write_report  # matplotlib only when a run is made

    console = Console()
    workload = load_workload_profile(profile)
    run = run_workload(url, workload, example_samples(), progress=True, console=console)
    write_report(run, out, title=workload.name, phase_rates={p.name: p.rate for p in workload.resolved()})
    console.print(summary_table(run.summary(), title=workload.name))
    console.print(f"report in {out}")
