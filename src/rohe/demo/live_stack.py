"""The live closed loop's platform: a store, the orchestration API over HTTP, model replicas as local processes
that follow the placements, and the one model they serve profiled on this machine.

`LocalRollout` is the step between "the orchestration service placed a replica" and "the gateway sends it
requests": every `interval_s` it compares the placements with the last ones it rolled out and, on a change,
converges the local deployer on them (LocalDeployer.apply starts the new process and waits for its health
check, stops the removed one). The gateway's follower (serving/gateway/endpoints_watch.py) then finds the
running process in the deployer's state and gives it traffic; nothing here talks to the gateway.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from rohe.api.app import create_app
from rohe.core.background_server import BackgroundServer
from rohe.core.config import Settings
from rohe.core.contracts import ConsumerContract, parse_contract
from rohe.core.domain import Memory, Node, Service
from rohe.core.errors import RoheError
from rohe.core.profiles import ProfileCatalog
from rohe.demo.contracts import write_contracts
from rohe.demo.services import SupervisedServices
from rohe.demo.stack import profile_models
from rohe.examples.registry import ExampleApp, example_app
from rohe.orchestration.deploy.local import LocalDeployer
from rohe.orchestration.requirements import ServiceRequirement, derive
from rohe.orchestration.service import OrchestrationService
from rohe.platform import Platform
from rohe.serving.pipeline import PipelineSpec, load_pipeline
from rohe.serving.profiling_http import NODE_TYPE

log = logging.getLogger(__name__)

TYPE_LABEL = "rohe.io/node-type"
MODEL = "logistic-regression"  # the cheapest of the example's models to compute: the emulated service time rules
HEALTH_TIMEOUT_S = 60.0  # one replica loads scikit-learn and its model on a busy two-core machine


@dataclass(frozen=True)
class Capacity:
    """One replica of the pinned model: `concurrency` requests at once, each holding its slot `service_ms`."""

    service_ms: float
    concurrency: int = 1
    max_wait_ms: float = 150.0  # longer and the gateway has given the member up: shed it, do not serve it late

    @property
    def rps(self) -> float:
        return self.concurrency * 1000.0 / self.service_ms


def live_contract(stated_rps: float, deadline_ms: float, availability: float) -> ConsumerContract:
    """One consumer pinned to one model; its stated throughput is what one replica carries within the deadline
    (the load then outgrows it). The SLO part asks for answers, not only fast ones: the gateway gives a member
    at most about its profiled latency, so an overloaded replica shows as requests without an answer (the
    availability clause) rather than as late answers."""
    return parse_contract({
        "consumer": "inspection", "ensemble": {"min": 1, "max": 1}, "required_throughput": stated_rps,
        "deadline_ms": deadline_ms, "models": [MODEL],
        "objectives": [{"metric": "response_time_p99", "aggregate": "max", "direction": "minimize", "min": 1,
                        "max": deadline_ms}],
        "slo": {"contract_id": "closed-loop-live", "tenant_id": "demo", "pipeline_id": "object-classification",
                "effective_from": "2026-01-01",
                "performance_slo": {"response_time_p99_ms": deadline_ms, "throughput_rps": 0.1,
                                    "availability_percent": availability}},
    })


def _cluster() -> list[Node]:
    # Two nodes of the type the profiles are measured on ("local": this machine); room for four replicas.
    return [Node(name=f"edge-{i}", labels={TYPE_LABEL: NODE_TYPE}, cores=[1000, 1000],
                 memory=Memory(rss=4000, vms=8000)) for i in (1, 2)]


def model_service(app: ExampleApp, spec: PipelineSpec, capacity: Capacity, data_dir: Path) -> Service:
    """The pipeline's service of the pinned model, its command asking for the replica capacity (one core each)."""
    name = next(s for m in spec.modalities for model, s in m.models.items() if model == MODEL)
    service = next(s for s in spec.services if s.name == name)
    command = [*app.model_service_command(MODEL), "--data-dir", str(data_dir),
               "--concurrency", str(capacity.concurrency), "--service-ms", f"{capacity.service_ms:g}",
               "--max-wait-ms", f"{capacity.max_wait_ms:g}"]
    return service.model_copy(update={"command": command, "cpu": 1000})


class LocalRollout:
    """Converges the local replica processes on the orchestration service's placements (see the module doc)."""

    def __init__(self, orchestration: OrchestrationService, deployer: LocalDeployer, interval_s: float = 0.5) -> None:
        self.orchestration = orchestration
        self.deployer = deployer
        self.interval_s = interval_s
        self.rollouts = 0
        self.last_error = ""
        self._seen: tuple[tuple[str, int, str | None, str], ...] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def converge(self) -> bool:
        """Roll the placements out if they changed since the last time; returns whether it did."""
        replicas = self.orchestration.replicas()
        seen = tuple(sorted((r.service, r.index, r.node, str(r.status)) for r in replicas))
        if seen == self._seen:
            return False
        self.deployer.apply(self.orchestration.list_services(), replicas)
        self._seen, self.rollouts = seen, self.rollouts + 1
        return True

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.converge()
            except Exception as exc:  # a failed rollout is retried on the next tick (level-triggered)
                self._seen, self.last_error = None, f"{type(exc).__name__}: {exc}"
                log.warning("local rollout failed: %s", self.last_error)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="rohe-local-rollout", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=HEALTH_TIMEOUT_S)

    def wait_running(self, service: str, count: int, timeout_s: float) -> bool:
        """Until exactly `count` processes of `service` run (the rollout of a scale has finished)."""
        give_up = time.monotonic() + timeout_s
        while time.monotonic() < give_up:
            running = [p for p in self.deployer.status() if p.service == service and p.status == "running"]
            if len(running) == count and self._seen is not None:
                return True
            time.sleep(0.2)
        return False


@dataclass(frozen=True)
class LiveStack:
    app: ExampleApp
    settings: Settings
    platform: Platform
    api_url: str
    spec: PipelineSpec
    service: Service
    catalog: ProfileCatalog
    contract: ConsumerContract
    contract_paths: list[Path]
    requirements: list[ServiceRequirement]
    rollout: LocalRollout
    state_dir: Path  # the local deployer's (what the gateway's resolver reads)

    def reset(self, timeout_s: float = HEALTH_TIMEOUT_S) -> None:
        """Back to the contract's initial placement, rolled out, before the next run."""
        replicas = next((r.replicas for r in self.requirements if r.service == self.service.name), None) or 1
        self.platform.orchestration.scale_service(self.service.name, replicas)
        self.platform.orchestration.place_queued()
        if not self.rollout.wait_running(self.service.name, replicas, timeout_s):
            raise RoheError(f"{self.service.name} did not come back to {replicas} running replica(s) "
                            f"(logs in {self.state_dir / 'logs'})")


@contextlib.contextmanager
def live_stack(data_dir: Path, out: Path, console: Console, capacity: Capacity,
               contract: ConsumerContract) -> Iterator[LiveStack]:
    """Start the platform, the orchestration API and the contract's initial placement as local processes;
    profile the model; stop all of it on leaving."""
    app = example_app("object-classification")
    # The models are cached in `data_dir`; the store and the processes' state are this invocation's own, so a
    # second run on the same data dir starts from an empty cluster.
    own = data_dir / "closed-loop-live" / time.strftime("%Y%m%d-%H%M%S")
    own.mkdir(parents=True, exist_ok=True)
    settings = Settings(data_dir=data_dir, database_url=f"sqlite:///{(own / 'rohe.db').resolve()}")
    with contextlib.ExitStack() as stack:
        with console.status(f"training or loading the {app.name} example's models"):
            app.ensure_models(settings.data_dir)
            workloads = app.modality_workloads(settings.data_dir)
        full = load_pipeline(app.pipeline_file)
        service = model_service(app, full, capacity, settings.data_dir)
        # The gateway serves the pinned model only: the other members are neither placed nor profiled here.
        spec = full.model_copy(update={"modalities": tuple(
            m.model_copy(update={"models": {k: v for k, v in m.models.items() if k == MODEL}})
            for m in full.modalities)})
        platform = Platform.open(settings)
        stack.callback(platform.close)
        api = BackgroundServer(create_app(settings, platform)).start()
        stack.callback(api.stop)
        orchestration = platform.orchestration
        orchestration.add_nodes(_cluster())
        state_dir = own / "local"
        services = SupervisedServices(LocalDeployer(state_dir, health_timeout=HEALTH_TIMEOUT_S))
        stack.callback(services.stop)
        # Placed once with one replica, to measure the model; then sized from the contract on the measurement.
        orchestration.add_services([service])
        orchestration.place_queued()
        with console.status(f"starting {service.name} as a local process"):
            services.start([service], orchestration.replicas())
        if services.unhealthy():
            raise RoheError(f"{service.name} did not start (log in {state_dir / 'logs'})")
        endpoints = services.endpoints({MODEL: service.name})
        one = {m: dataclasses.replace(w, predictors={MODEL: w.predictors[MODEL]})
               for m, w in workloads.items() if MODEL in w.predictors}
        measured = profile_models(one, endpoints, console, quick=True)
        # One replica serves `concurrency` requests at a time, so its capacity is what one request's HTTP
        # latency allows, not the in-process batch throughput the profiler measures.
        catalog = ProfileCatalog.of([p.model_copy(update={
            "throughput_rps": capacity.concurrency * 1000.0 / (p.latency_p50_ms or capacity.service_ms)})
            for p in measured.profiles], measured.classes)
        profile = catalog.profiles[0]
        console.print(f"{MODEL} on this machine: p50 {profile.latency_p50_ms:.1f} ms, p99 "
                      f"{profile.latency_p99_ms:.1f} ms, {profile.throughput_rps:.1f} req/s per replica "
                      f"(concurrency {capacity.concurrency}, {capacity.service_ms:g} ms per request)")
        requirements = derive([contract], catalog, [service], (NODE_TYPE,))
        rollout = LocalRollout(orchestration, services.deployer)
        rollout.start()
        stack.callback(rollout.stop)
        paths = write_contracts([contract], out / "contracts")
        live = LiveStack(app, settings, platform, api.url, spec, service, catalog, contract, paths, requirements,
                         rollout, state_dir)
        live.reset()  # scaled to what the contract needs on the measured profile
        console.print(f"orchestration API on {api.url}; {service.name} placed from the contract "
                      f"({requirements[0].why_replicas if requirements else 'no requirement'})")
        yield live
