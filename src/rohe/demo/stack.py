"""The example app running locally for the demo: placed, supervised, profiled, behind an in-process gateway.

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

import numpy as np
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
from rohe.examples.object_classification import (
    CONTRACT_FILES,
    PIPELINE_FILE,
    data_file,
    ensure_models,
    object_classification_workload,
    preprocess,
)
from rohe.examples.workload import Workload
from rohe.observation.embedded import ObservedRun, observed_run
from rohe.orchestration.deploy.local import LocalDeployer
from rohe.platform import Platform
from rohe.serving.gateway import build_gateway, create_gateway_app
from rohe.serving.pipeline import load_pipeline
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
    workload: Workload, endpoints: dict[str, list[str]], console: Console, *, quick: bool
) -> ProfileCatalog:
    """measure_catalog one model at a time, so a progress bar can say which model is being measured."""
    samples = 15 if quick else 40
    profiles: list[ModelProfile] = []
    with _progress(console) as progress:
        task = progress.add_task("profiling", total=len(workload.predictors))
        for name, predictor in workload.predictors.items():
            progress.update(task, description=f"profiling {name} (HTTP latency, accuracy per class)")
            one = dataclasses.replace(workload, predictors={name: predictor})
            profiles.extend(measure_catalog(one, endpoints, http_samples=samples, repeats=samples).profiles)
            progress.advance(task)
    return ProfileCatalog.of(profiles, workload.class_names)


def _fitted_contracts(
    catalog: ProfileCatalog, out: Path, console: Console
) -> tuple[list[ConsumerContract], list[Path]]:
    contracts = []
    for name in CONTRACT_FILES:
        fitted = fit_contract(load_contract(data_file(name)), catalog)
        consumer = fitted.contract.consumer
        for change in fitted.changes:
            console.print(f"[yellow]contract {consumer}: {change}, so it can be met on this machine[/]")
        if not fitted.satisfiable:
            console.print(
                f"[bold red]contract {consumer}: no ensemble satisfies it on this machine; it is served "
                "best-effort by the nearest-feasible ensemble and every request counts as a breach[/]"
            )
        contracts.append(fitted.contract)
    return contracts, write_contracts(contracts, out / "contracts")


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
        with console.status("placing the pipeline on the example edge cluster (every algorithm, then for real)"):
            placement, table = place_pipeline(platform, spec.services, out)
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
        model_services = {m: s for modality in spec.modalities for m, s in modality.models.items()}
        endpoints = services.endpoints(model_services)
        console.print(f"{len(services.processes)} replica process(es) running and supervised")

        catalog = profile_models(workload, endpoints, console, quick=quick)
        save_catalog(catalog, out / "profiles.csv")
        console.print(f"profiled {len(catalog.models)} models on this machine: {out / 'profiles.csv'}")
        contracts, contract_paths = _fitted_contracts(catalog, out, console)

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
        yield ExampleStack(server.url, services, model_services, placement, platform, observation, tuple(contracts))
