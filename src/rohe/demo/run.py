"""The serving demo end to end: place the example pipeline on the example edge cluster, run its services
locally under supervision, profile the models, serve the gateway, drive load for both consumers and
several algorithms while a model service is killed, then report. Everything started is stopped, also on
Ctrl-C or an error."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from rich.console import Console

from rohe.core.background_server import BackgroundServer
from rohe.core.config import Settings
from rohe.core.contracts import load_contract
from rohe.core.errors import RoheError
from rohe.core.profiles import save_catalog
from rohe.demo.observe import observation_report
from rohe.demo.placement import PlacementOutcome, place_pipeline
from rohe.demo.services import SupervisedServices, timeline
from rohe.demo.workload import KILLED_MODEL, demo_workload
from rohe.examples.object_classification import (
    CONTRACT_FILES,
    PIPELINE_FILE,
    data_file,
    ensure_models,
    object_classification_workload,
    preprocess,
)
from rohe.examples.workload import example_samples
from rohe.observation.embedded import ObservedRun, finish, observed_run
from rohe.orchestration.deploy.local import LocalDeployer
from rohe.platform import Platform
from rohe.serving.gateway import build_gateway, create_gateway_app
from rohe.serving.loadgen import RunResult, TimedAction, run_workload
from rohe.serving.pipeline import load_pipeline
from rohe.serving.profiling_http import measure_catalog
from rohe.serving.report import ReportFiles, summary_table, write_report

HEALTH_TIMEOUT_S = 90.0  # five model services load scikit-learn at once on two cores


@dataclass(frozen=True)
class DemoOptions:
    out: Path
    data_dir: Path
    scale: float = 1.0
    quick: bool = False


@dataclass(frozen=True)
class DemoOutcome:
    run: RunResult
    files: ReportFiles
    gateway_stats: dict[str, Any]


@contextlib.contextmanager
def _data_dir_env(data_dir: Path) -> Iterator[None]:
    # The model services (child processes) find the cached models through ROHE_DATA_DIR.
    previous = os.environ.get("ROHE_DATA_DIR")
    os.environ["ROHE_DATA_DIR"] = str(data_dir)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("ROHE_DATA_DIR", None)
        else:
            os.environ["ROHE_DATA_DIR"] = previous


@dataclass(frozen=True)
class ExampleStack:
    """The example app running locally: placed, supervised, profiled, behind a gateway at `url`."""

    url: str
    services: SupervisedServices
    model_services: dict[str, str]  # model -> service serving it
    placement: PlacementOutcome
    platform: Platform
    observation: ObservedRun


@contextlib.contextmanager
def example_stack(data_dir: Path, out: Path, console: Console, *, quick: bool = False) -> Iterator[ExampleStack]:
    """Start everything the example needs; stop all of it on leaving, whatever happened inside."""
    settings = Settings(data_dir=data_dir)
    settings.ensure_data_dir()
    out.mkdir(parents=True, exist_ok=True)
    with _data_dir_env(settings.data_dir), contextlib.ExitStack() as stack:
        with console.status("training or loading the example's five models"):
            trained = ensure_models(settings.data_dir)
            workload = object_classification_workload(settings.data_dir)
        spec = load_pipeline(data_file(PIPELINE_FILE))

        platform = Platform.open(settings)
        stack.callback(platform.close)
        placement, table = place_pipeline(platform, spec.services, out)
        console.print(table)
        nodes = sorted({r.allocation.node for r in placement.replicas if r.allocation is not None})
        console.print(
            f"[bold]placed with {placement.algorithm}[/]: {len(placement.replicas) - placement.unplaced} replica(s) "
            f"on {len(nodes)} node(s), {placement.unplaced} queued; "
            f"{placement.manifests} Kubernetes object(s) in {out / 'manifests'}"
        )

        if spec.gateway is not None:
            console.print(f"{spec.gateway} is placed and in the manifests; this demo serves the gateway in-process")
        services = SupervisedServices(LocalDeployer(settings.data_dir / "local", health_timeout=HEALTH_TIMEOUT_S))
        stack.callback(services.stop)
        # The demo serves the gateway in-process (it measures the profiles and observes the run itself), so
        # the pipeline's placed gateway service is in the placement and the manifests but not started here.
        started = [s for s in placement.services if s.name != spec.gateway]
        with console.status("starting the placed model replicas as local processes (they load the models)"):
            services.start(started, [r for r in placement.replicas if r.service != spec.gateway])
        broken = services.unhealthy()
        if broken:
            raise RoheError(
                "some services of the example did not start: "
                + ", ".join(f"{p.service}-{p.index} {p.status}" for p in broken)
                + f" (logs in {settings.data_dir / 'local' / 'logs'})"
            )
        model_services = {m: s for modality in spec.modalities for m, s in modality.models.items()}
        endpoints = services.endpoints(model_services)
        console.print(f"{len(services.processes)} replica process(es) running and supervised")

        with console.status("profiling the five models on this machine (HTTP latency, accuracy per class)"):
            catalog = measure_catalog(
                workload, endpoints, http_samples=15 if quick else 40, repeats=15 if quick else 40
            )
        save_catalog(catalog, out / "profiles.csv")

        contract_paths = [data_file(name) for name in CONTRACT_FILES]
        contracts = [load_contract(path) for path in contract_paths]
        observation = stack.enter_context(
            observed_run(platform.observation, spec.application, "demo", contract_paths, window_s=2.0 if quick else 5.0)
        )
        scaler = trained.preprocessor
        modality = spec.modalities[0].name

        def standardise(sample: list[float]) -> list[float]:
            return [float(x) for x in preprocess(scaler, np.asarray(sample, dtype=np.float64))[0]]

        gateway = build_gateway(
            spec,
            catalog,
            contracts,
            endpoints,
            preprocessors={modality: standardise},
            seed=7,
            sink=observation.probe,
            run=observation.run,
        )
        server = BackgroundServer(create_gateway_app(gateway)).start()
        stack.callback(server.stop)
        console.print(
            f"gateway serving {', '.join(gateway.consumers())} on {server.url}; "
            f"it runs the {', '.join(spec.gateway_stages)} stage(s) itself"
        )
        console.print(f"observation agent for {spec.application}/{observation.run}: reports via the in-process probe")
        yield ExampleStack(server.url, services, model_services, placement, platform, observation)


def run_demo(options: DemoOptions, console: Console) -> DemoOutcome:
    with example_stack(options.data_dir, options.out, console, quick=options.quick) as example:
        plan = demo_workload(options.scale, quick=options.quick)
        killed = example.model_services[KILLED_MODEL]
        services = example.services
        kill = TimedAction(plan.kill_at_s, f"killed {killed}", lambda: services.kill(killed))
        phases = plan.profile.resolved()
        console.print(
            f"load: {', '.join(f'{p.name} {p.duration_s:.0f} s at {p.rate:.0f} req/s' for p in phases)}; "
            f"{killed} is killed at {plan.kill_at_s:.1f} s"
        )
        run = run_workload(example.url, plan.profile, example_samples(), actions=[kill], progress=True, console=console)
        services.wait_restarted(killed, timeout=HEALTH_TIMEOUT_S / 3)
        run.events.extend(timeline(services.recorded(), run.started_unix))
        run.events.sort(key=_at)
        gateway_stats = httpx.get(f"{example.url}/stats", timeout=10).json()

        console.print(summary_table(run.summary(), title="serving demo: per consumer x algorithm"))
        _print_failure(console, run, killed, KILLED_MODEL)
        placement = example.placement
        files = write_report(
            run,
            options.out,
            title="rohe serving demo",
            phase_rates={p.name: p.rate for p in phases},
            extra={
                "placement": {
                    "algorithm": placement.algorithm,
                    "comparison": placement.comparison,
                    "replicas": [r.model_dump(mode="json") for r in placement.replicas],
                },
                "profiles_csv": "profiles.csv",
                "gateway_stats": gateway_stats,
                "killed_service": killed,
            },
        )
        finish(example.platform.observation, example.observation)
        observed = observation_report(example.platform, example.observation, options.out)
        console.print(observed.table)
        _print_violations(console, example.platform, example.observation)
        console.print(
            f"[green]report in {options.out}[/] (requests.csv, summary.csv/json, plots, manifests, "
            f"{observed.html_path.name if observed.html_path else 'no observation page'})"
        )
        return DemoOutcome(run, files, gateway_stats)


def _print_violations(console: Console, platform: Platform, observation: ObservedRun) -> None:
    """The first violation of each consumer and clause, with its explanation: what an operator reads first."""
    seen: set[tuple[str, str]] = set()
    for violation in platform.observation.store.list_violations(observation.app, observation.run):
        key = (violation.consumer, violation.clause)
        if key in seen:
            continue
        seen.add(key)
        console.print(f"  [bold]{violation.consumer}[/] ({violation.action.value}): {violation.explanation}")


def _print_failure(console: Console, run: RunResult, service: str, model: str) -> None:
    mine = [e for e in run.events if service in str(e.get("event", ""))]
    for event in mine:
        code = event.get("exit_code")
        extra = f", exit code {code}" if code is not None else ""
        console.print(f"  {_at(event):6.1f} s  {event['event']}{extra}")
    # `failed` (refused, reset) rather than `late`: a late member is the deadline's doing, not the crash's.
    hit = [r for r in run.results if model in r.failed]
    served = sum(r.is_answered for r in hit)
    console.print(
        f"while {service} was down, [bold]{len(hit)}[/] request(s) had {model} as a member: {served} answered by "
        f"the other members, {len(hit) - served} without an answer"
    )
    if not any("healthy" in str(e.get("event", "")) for e in mine):
        console.print(f"[yellow]{service} was not healthy again before the end of the run[/]")


def _at(event: dict[str, object]) -> float:
    at = event.get("at_s")
    return float(at) if isinstance(at, int | float) else 0.0
