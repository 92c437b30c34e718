"""The serving demo end to end, for any example app of the registry (rohe.examples.registry): place the
app's pipeline on the example edge cluster, run its model services locally under supervision, profile the
models, serve the gateway, drive load for the app's consumers and several algorithms while the app's
`killed_model` service is killed, then report (the same report folder and columns for every app).
Everything started is stopped, also on Ctrl-C, SIGTERM or an error."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from rohe.demo.observe import observation_report
from rohe.demo.services import timeline
from rohe.demo.stack import HEALTH_TIMEOUT_S, ExampleStack, example_stack
from rohe.demo.summary import print_error_cells, print_failure, print_violations, timeline_at
from rohe.demo.workload import demo_workload
from rohe.examples.registry import example_app
from rohe.observation.embedded import finish
from rohe.serving.loadgen import RunResult, TimedAction, run_workload
from rohe.serving.report import ReportFiles, summary_table, write_report

__all__ = ["DemoOptions", "DemoOutcome", "ExampleStack", "example_stack", "run_demo"]


@dataclass(frozen=True)
class DemoOptions:
    out: Path
    data_dir: Path
    scale: float = 1.0
    quick: bool = False
    app: str = "object-classification"


@dataclass(frozen=True)
class DemoOutcome:
    run: RunResult
    files: ReportFiles
    gateway_stats: dict[str, Any]
    error_cells: list[tuple[str, str, float]]  # consumer, algorithm, share of requests without an answer


def run_demo(options: DemoOptions, console: Console) -> DemoOutcome:
    app = example_app(options.app)
    with example_stack(options.data_dir, options.out, console, quick=options.quick, app=app) as example:
        plan = demo_workload(options.scale, quick=options.quick, consumers=app.consumers)
        killed = example.model_services[app.killed_model]
        services = example.services
        kill = TimedAction(plan.kill_at_s, f"killed {killed}", lambda: services.kill(killed))
        phases = plan.profile.resolved()
        console.print(
            f"load: {', '.join(f'{p.name} {p.duration_s:.0f} s at {p.rate:.0f} req/s' for p in phases)}; "
            f"{killed} is killed at {plan.kill_at_s:.1f} s"
        )
        samples = app.load_samples()
        run = run_workload(example.url, plan.profile, samples, actions=[kill], progress=True, console=console)
        console.print(f"load done: {len(run.results)} request(s) in {run.elapsed_s:.1f} s")
        with console.status(f"waiting for the supervisor to report {killed} healthy again"):
            services.wait_restarted(killed, timeout=HEALTH_TIMEOUT_S / 3)
        run.events.extend(timeline(services.recorded(), run.started_unix))
        run.events.sort(key=timeline_at)
        gateway_stats = httpx.get(f"{example.url}/stats", timeout=10).json()

        rows = run.summary()
        title = f"serving demo: per consumer x algorithm ({app.name})"
        console.print(summary_table(rows, title=title, width=console.width))
        error_cells = print_error_cells(console, rows, run)
        print_failure(console, run, killed, app.killed_model)
        placement = example.placement
        with console.status("writing the report: requests and summary CSV, summary JSON, plots"):
            files = write_report(
                run,
                options.out,
                title=f"rohe serving demo: {app.name}",
                phase_rates={p.name: p.rate for p in phases},
                deadlines={c.consumer: c.deadline_ms for c in example.contracts if c.deadline_ms is not None},
                extra={
                    "app": app.name,
                    "placement": {
                        "algorithm": placement.algorithm,
                        "comparison": placement.comparison,
                        "replicas": [r.model_dump(mode="json") for r in placement.replicas],
                    },
                    "profiles_csv": "profiles.csv",
                    "contracts": {c.consumer: c.model_dump(mode="json") for c in example.contracts},
                    "gateway_stats": gateway_stats,
                    "killed_service": killed,
                    "error_cells": [{"consumer": c, "algorithm": a, "no_answer_ratio": r} for c, a, r in error_cells],
                },
            )
        with console.status("closing the observation windows and writing the observation report"):
            finish(example.platform.observation, example.observation)
            observed = observation_report(example.platform, example.observation, options.out)
        console.print(observed.table)
        print_violations(console, example.platform, example.observation)
        console.print(
            f"[green]report in {options.out}[/] (requests.csv, summary.csv/json, plots, manifests, contracts, "
            f"{observed.html_path.name if observed.html_path else 'no observation page'})"
        )
        return DemoOutcome(run, files, gateway_stats, error_cells)
