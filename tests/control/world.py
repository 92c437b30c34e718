"""A small real world for controller tests: a store (SQLite), an orchestration service with typed nodes and two
model services, an observation store, real contract evaluation, and a gateway policy route on a real port."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict

from rohe.control import Controller, ControlSettings, GatewayPolicy, GuardSettings, PlatformActuator
from rohe.core.background_server import BackgroundServer
from rohe.core.contracts import ConsumerContract, parse_contract
from rohe.core.domain import Memory, Node, Service
from rohe.core.profiles import ModelProfile, ProfileCatalog
from rohe.core.storage import Store
from rohe.observation.evaluation import ContractEvaluator
from rohe.observation.metrics import LatencyStats, ModelStats, ResourceStats, WindowMetrics
from rohe.observation.store import ObservationStore
from rohe.orchestration.service import OrchestrationService

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
WINDOW_S = 10.0
APP, RUN, CONSUMER = "vision", "r1", "c1"


def catalog(big_cost: float = 3.0) -> ProfileCatalog:
    rows = [
        ("fast", "small", 20.0, 100.0, 0.90, 1.0), ("fast", "big", 10.0, 300.0, 0.90, big_cost),
        ("accurate", "small", 80.0, 100.0, 0.97, 1.0), ("accurate", "big", 40.0, 300.0, 0.97, big_cost),
    ]
    return ProfileCatalog.of(
        ModelProfile(model=m, node_type=t, latency_p50_ms=p99 / 2, latency_p99_ms=p99, throughput_rps=rps,
                     accuracy=acc, cost_base=cost)
        for m, t, p99, rps, acc, cost in rows
    )


def contract(**overrides: Any) -> ConsumerContract:
    body: dict[str, Any] = {
        "consumer": CONSUMER, "ensemble": {"min": 1, "max": 2}, "required_throughput": 50, "deadline_ms": 200,
        "objectives": [{"metric": "accuracy", "direction": "maximize", "min": 0.8, "max": 1.0}],
        "constraints": [{"metric": "accuracy", "aggregate": "max", "min": 0.9}],
    }
    body.update(overrides)
    return parse_contract(body)


def node(name: str, node_type: str, cores: int = 4) -> Node:
    return Node(name=name, labels={"rohe.io/node-type": node_type}, cores=[1000] * cores,
                memory=Memory(rss=8000, vms=16000))


def latency(p99: float, count: int = 100) -> LatencyStats:
    return LatencyStats(count=count, mean_ms=p99 / 2, p50_ms=p99 / 2, p95_ms=p99 * 0.8, p99_ms=p99, max_ms=p99)


def window(index: int, *, rps: float = 50.0, p99: float = 100.0, accuracy: float = 0.95,
           models: dict[str, ModelStats] | None = None, resources: dict[str, ResourceStats] | None = None,
           stages: dict[str, LatencyStats] | None = None) -> WindowMetrics:
    start = T0 + timedelta(seconds=index * WINDOW_S)
    requests = int(rps * WINDOW_S)
    return WindowMetrics(
        app=APP, run=RUN, consumer=CONSUMER, start=start, end=start + timedelta(seconds=WINDOW_S), requests=requests,
        throughput_rps=rps, end_to_end=latency(p99, requests), labelled=requests, accuracy=accuracy,
        stages=stages if stages is not None else {"fanout": latency(p99 * 0.9)},
        models=models if models is not None else {
            "fast": ModelStats(requests=requests, latency=latency(20), labelled=requests, accuracy=0.9),
            "accurate": ModelStats(requests=requests, latency=latency(60), labelled=requests, accuracy=0.97),
        },
        resources=resources or {},
    )


class _Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    algorithm: str | None = None
    degrade: bool = False
    exclude: list[str] = []


@dataclass
class PolicyRecorder:
    """The gateway's policy route as the controller calls it, on a real port; it remembers every body."""

    bodies: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> FastAPI:
        api = FastAPI()

        @api.post("/consumers/{consumer}/policy")
        async def policy(consumer: str, body: _Policy) -> dict[str, Any]:
            self.bodies.append({"consumer": consumer, **body.model_dump()})
            return {"consumer": consumer, "algorithm": body.algorithm or "adaptive", "degrade": body.degrade}

        return api


@dataclass
class World:
    store: Store
    orchestration: OrchestrationService
    observations: ObservationStore
    evaluator: ContractEvaluator
    recorder: PolicyRecorder
    gateway_url: str
    catalog: ProfileCatalog
    contract: ConsumerContract
    now: list[float]

    def feed(self, w: WindowMetrics) -> None:
        """Store a window and judge it, as an observation agent would; the clock moves to its end."""
        self.observations.save_windows([w])
        self.evaluator(w)
        self.now[0] = w.end.timestamp()

    def controller(self, *, dry_run: bool = False, cooldown_s: float = 25.0, gateway_url: str | None = None,
                   act_after: int = 2, relax_after: int = 3) -> Controller:
        gateway = GatewayPolicy(gateway_url or self.gateway_url)
        actuator = PlatformActuator(self.orchestration, gateway)
        settings = ControlSettings(GuardSettings(cooldown_s=cooldown_s, act_after=act_after, relax_after=relax_after,
                                                 backoff_s=30.0), dry_run=dry_run)
        return Controller(self.store, self.observations, self.orchestration, app=APP, run=RUN,
                          contracts=[self.contract], catalog=self.catalog, actuator=actuator, settings=settings,
                          clock=lambda: self.now[0])

    def replicas(self, service: str) -> int:
        return len(self.orchestration.replicas(service=service))


@contextmanager
def world(url: str, *, big: bool = False, big_cost: float = 3.0, fast_replicas: int = 1,
          contract_overrides: dict[str, Any] | None = None) -> Iterator[World]:
    store = Store(url)
    store.upgrade()
    try:
        orchestration = OrchestrationService(store)
        nodes = [node("small-1", "small"), node("small-2", "small")]
        orchestration.add_nodes(nodes)
        orchestration.add_services([
            Service(name="svc-fast", cpu=1000, memory=Memory(rss=200, vms=400), replicas=fast_replicas,
                    env={"ROHE_MODEL": "fast"}),
            Service(name="svc-accurate", cpu=1000, memory=Memory(rss=200, vms=400), env={"ROHE_MODEL": "accurate"}),
        ])
        orchestration.place_queued("least-allocated")
        if big:  # registered after the first round, so the replicas start on the small nodes
            nodes.append(node("big-1", "big", 8))
            orchestration.add_nodes(nodes[-1:])
        profiles = catalog(big_cost)
        the_contract = contract(**(contract_overrides or {}))
        observations = ObservationStore(store)
        evaluator = ContractEvaluator({CONSUMER: the_contract}, sink=observations, profiles=profiles,
                                      capacity={n.name: len(n.cores) for n in nodes})
        recorder = PolicyRecorder()
        with BackgroundServer(recorder.app(), log_level="critical") as server:
            yield World(store, orchestration, observations, evaluator, recorder, server.url, profiles, the_contract,
                        [T0.timestamp()])
    finally:
        store.close()


def saturated(service: str, node_name: str, cores: float = 3.9) -> dict[str, ResourceStats]:
    return {f"{service}@{node_name}": ResourceStats(samples=10, cpu_mean=cores * 0.9, cpu_max=cores,
                                                     memory_mean=100, memory_max=120)}


def hot_fast(rps: float) -> dict[str, ModelStats]:
    requests = int(rps * WINDOW_S)
    return {"fast": ModelStats(requests=requests, latency=latency(400), labelled=requests, accuracy=0.9)}
