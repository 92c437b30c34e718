"""An example app running locally for the demo: placed, supervised, profiled, behind an in-process gateway.

Everything app-specific comes from the app's registry entry (rohe.examples.registry.ExampleApp): its pipeline
spec, models, model-service command, preprocessing, contracts. Contracts of the app's own consumers are fitted
to this machine and served by the gateway; any other contract the app ships (ROHE's published application
contract) binds to the whole application, so the observation agent judges it, unchanged, on the
all-consumer window.

`example_stack` starts everything the example needs and stops all of it on leaving, whatever happened inside
(an error, Ctrl-C, SIGTERM turned into KeyboardInterrupt by rohe.demo.signals).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rohe.core.background_server import BackgroundServer
from rohe.core.config import Settings
from rohe.core.contracts import ConsumerContract, load_contract
from rohe.core.errors import RoheError
from rohe.core.profiles import ModelProfile, ProfileCatalog, save_catalog
from rohe.demo.contracts import fit_contract, write_contracts
from rohe.demo.placement import PlacementOutcome, place_pipeline
from rohe.demo.services import SupervisedServices
from rohe.demo.signals import reclaim_sigint
from rohe.examples.registry import ExampleApp, example_app
from rohe.examples.workload import Workload
from rohe.observation.embedded import ObservedRun, observed_run
from rohe.observation.metrics import ALL_CONSUMERS
from rohe.orchestration.deploy.local import LocalDeployer
from rohe.platform import Platform
from rohe.serving.gateway import build_gateway, create_gateway_app
from rohe.serving.pipeline import PipelineSpec, load_pipeline
from rohe.serving.profiling_http import measure_catalog

HEALTH_TIMEOUT_S = 90.0  # five model services load scikit-learn at once on two cores


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

    app: ExampleApp

    url: str
    services: SupervisedServices
    model_services: dict[str, str]  # model -> service serving it
    placement: PlacementOutcome
    platform: Platform
    observation: ObservedRun
    contracts: tuple[ConsumerContract, ...] = ()  # as served: fitted to this machine (rohe.demo.contracts)


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def profile_models(
    workloads: dict[str, Workload], endpoints: dict[str, list[str]], console: Console, *, quick: bool
) -> ProfileCatalog:
    """measure_catalog one model at a time (each modality's members on that modality's inputs), so a progress
    bar can say which model is being measured. Only served models are measured: an extra can train a member
    the pipeline file does not serve (smart-building's MINI_ROCKET_AEON)."""
    samples = 15 if quick else 40
    served = {n: {m: p for m, p in w.predictors.items() if m in endpoints} for n, w in workloads.items()}
    for name in sorted({m for w in workloads.values() for m in w.predictors} - set(endpoints)):
        console.print(f"model {name} is trained but not in the pipeline file, so it is not served or profiled")
    profiles: list[ModelProfile] = []
    classes: dict[int, str] = {}
    with _progress(console) as progress:
        task = progress.add_task("profiling", total=sum(len(p) for p in served.values()))
        for modality, workload in workloads.items():
            classes.update(workload.class_names)
            for name, predictor in served[modality].items():
                progress.update(task, description=f"profiling {name} (HTTP latency, accuracy per class)")
                one = dataclasses.replace(workload, predictors={name: predictor})
                mine = {name: endpoints[name]}
                profiles.extend(measure_catalog(one, mine, http_samples=samples, repeats=samples).profiles)
                progress.advance(task)
    return ProfileCatalog.of(profiles, classes)


def _fitted_contracts(
    app: ExampleApp, spec: PipelineSpec, catalog: ProfileCatalog, out: Path, console: Console
) -> tuple[list[ConsumerContract], list[Path]]:
    """The served contracts (the app's consumers, fitted) and every contract file the observation agent judges."""
    contracts = []
    application: list[ConsumerContract] = []
    application_names: list[str] = []
    for path in app.contract_files:
        loaded = load_contract(path)
        if loaded.consumer not in app.consumers:
            console.print(
                f"contract {loaded.consumer} ({path.name}) binds to the whole application: the observation agent "
                "judges it on the all-consumer window"
            )
            application.append(loaded.model_copy(update={"consumer": ALL_CONSUMERS}))
            application_names.append(loaded.consumer)
            continue
        fitted = fit_contract(loaded, catalog, {m.name: tuple(m.models) for m in spec.modalities})
        consumer = fitted.contract.consumer
        for change in fitted.changes:
            console.print(f"[yellow]contract {consumer}: {change}, so it can be met on this machine[/]")
        if not fitted.satisfiable:
            console.print(
                f"[bold red]contract {consumer}: no ensemble satisfies it on this machine; it is served "
                "best-effort by the nearest-feasible ensemble and every request counts as a breach[/]"
            )
        contracts.append(fitted.contract)
    judged = write_contracts(contracts, out / "contracts")
    judged += write_contracts(application, out / "contracts", names=application_names)
    return contracts, judged


@contextlib.contextmanager
def example_stack(
    data_dir: Path, out: Path, console: Console, *, quick: bool = False, app: ExampleApp | None = None
) -> Iterator[ExampleStack]:
    """Start everything the example `app` (default object classification) needs; stop all of it on leaving,
    whatever happened inside."""
    app = app or example_app("object-classification")
    settings = Settings(data_dir=data_dir)
    settings.ensure_data_dir()
    out.mkdir(parents=True, exist_ok=True)
    with _data_dir_env(settings.data_dir), contextlib.ExitStack() as stack:
        with console.status(f"training or loading the {app.name} example's models"):
            app.ensure_models(settings.data_dir)
            workloads = app.modality_workloads(settings.data_dir)
            preprocessors = app.preprocessors(settings.data_dir)
        spec = load_pipeline(app.pipeline_file)
        model_services = {m: s for modality in spec.modalities for m, s in modality.models.items()}
        # Each model service runs the registry's model-service command, whatever the pipeline file says.
        commands = {service: app.model_service_command(model) for model, service in model_services.items()}
        spec_services = [
            s.model_copy(update={"command": commands[s.name]}) if s.name in commands else s for s in spec.services
        ]

        platform = Platform.open(settings)
        stack.callback(platform.close)
        with console.status("placing the pipeline on the example edge cluster (every algorithm, then for real)"):
            placement, table = place_pipeline(platform, spec_services, out)
        # The CP-SAT solver may have taken SIGINT over; Ctrl-C must reach Python again to stop what follows.
        reclaim_sigint()
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
        endpoints = services.endpoints(model_services)
        console.print(f"{len(services.processes)} replica process(es) running and supervised")

        catalog = profile_models(workloads, endpoints, console, quick=quick)
        save_catalog(catalog, out / "profiles.csv")
        console.print(f"profiled {len(catalog.models)} models on this machine: {out / 'profiles.csv'}")
        contracts, contract_paths = _fitted_contracts(app, spec, catalog, out, console)

        observation = stack.enter_context(
            observed_run(platform.observation, spec.application, "demo", contract_paths, window_s=2.0 if quick else 5.0)
        )
        gateway = build_gateway(
            spec,
            catalog,
            contracts,
            endpoints,
            preprocessors=preprocessors,
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
        yield ExampleStack(
            app, server.url, services, model_services, placement, platform, observation, tuple(contracts)
        )
