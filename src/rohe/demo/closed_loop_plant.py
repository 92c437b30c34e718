"""The plant of the closed-loop scenario: one observation window of serving, simulated from what is placed now.

Every window, the replicas the orchestration service has placed become simulator instances (rohe.simulation:
the gateway's real scheduling and aggregation, a FIFO queue per replica, service times and answers drawn from
the profiles). The records are windowed into the `WindowMetrics` an observation agent would emit: end-to-end
latency, accuracy against the true class, per-member requests and latency (from the work spans), and per
`service@node` busy time as CPU (one replica serves one request at a time, so busy share = cores in use).
Each window starts with empty queues: a backlog does not carry over, which flatters the controller-off run.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from rohe.core.contracts import ConsumerContract
from rohe.core.profiles import ModelProfile, ProfileCatalog
from rohe.observation.metrics import LatencyStats, ModelStats, ResourceStats, WindowMetrics
from rohe.orchestration.requirements import model_of
from rohe.orchestration.scaling import node_type_of
from rohe.orchestration.service import OrchestrationService
from rohe.simulation import ProfileConfusion, ProfileServiceTime, SimInstance, SimQuery, SimulationSetup, simulate
from rohe.simulation.arrivals import arrivals

CLASSES = 10
GATEWAY_OVERHEAD_S = 0.002  # what the gateway adds to every answer, a late one too: late is clearly > deadline
# (model, node type) -> (p50 ms, p99 ms, accuracy, cost per replica-second). Node types: a Raspberry-Pi-class
# board (cheap, slow) and a NUC-class box (three times the price, about 2.5 times as fast).
DEMO_PROFILES: dict[tuple[str, str], tuple[float, float, float, float]] = {
    ("rbf-svm", "pi"): (40.0, 90.0, 0.989, 0.0001),
    ("rbf-svm", "nuc"): (16.0, 36.0, 0.989, 0.0003),
    ("random-forest", "pi"): (25.0, 60.0, 0.971, 0.0001),
    ("random-forest", "nuc"): (10.0, 24.0, 0.971, 0.0003),
}


def demo_catalog() -> ProfileCatalog:
    """Profiles whose throughput is what one replica serving one request at a time sustains: 1 / mean service
    time of the lognormal through p50 and p99 (the same fit the simulator draws from)."""
    profiles = []
    for (model, node_type), (p50, p99, accuracy, cost) in DEMO_PROFILES.items():
        sigma = math.log(p99 / p50) / 2.3263
        mean_ms = p50 * math.exp(sigma**2 / 2)
        profiles.append(ModelProfile(
            model=model, node_type=node_type, latency_p50_ms=p50, latency_p95_ms=(p50 + p99) / 2, latency_p99_ms=p99,
            throughput_rps=1000.0 / mean_ms, accuracy=accuracy, confidence=accuracy, cost_base=cost,
            class_accuracy=dict.fromkeys(range(CLASSES), accuracy),
            class_confidence=dict.fromkeys(range(CLASSES), accuracy)))
    return ProfileCatalog.of(profiles, {c: f"digit-{c}" for c in range(CLASSES)})


@dataclass
class Policy:
    """The simulated gateway's per-consumer policy, set by the controller like the real gateway's route."""

    degrade: bool = False
    exclude: list[str] = field(default_factory=list)

    def set(self, consumer: str, *, degrade: bool, exclude: Sequence[str]) -> str:
        self.degrade, self.exclude = degrade, list(exclude)
        return f"simulated gateway: {consumer} degrade={degrade} exclude={list(exclude)}"


def _stats(values_ms: list[float]) -> LatencyStats | None:
    if not values_ms:
        return None
    a = np.asarray(values_ms)
    q50, q95, q99 = np.percentile(a, [50, 95, 99])
    return LatencyStats(count=len(a), mean_ms=float(a.mean()), p50_ms=float(q50), p95_ms=float(q95),
                        p99_ms=float(q99), max_ms=float(a.max()))


@dataclass(frozen=True)
class Served:
    window: WindowMetrics
    replicas: dict[str, int]
    cost: float  # replica price over the window
    capacity: dict[str, float]  # service@node -> cores, for the evaluator's saturation cause


def serve_window(
    orchestration: OrchestrationService, catalog: ProfileCatalog, contract: ConsumerContract, policy: Policy, *,
    app: str, run: str, start: datetime, seconds: float, rate: float, seed: int,
) -> Served:
    """Simulate `seconds` of load at `rate` req/s on what is placed now and window the result."""
    nodes = {n.name: n for n in orchestration.store.list_nodes()}
    services = {s.name: s for s in orchestration.list_services()}
    instances: list[SimInstance] = []
    owner: dict[str, str] = {}
    owner_of: dict[str, str] = {}
    cost = 0.0
    replicas: defaultdict[str, int] = defaultdict(int)
    for replica in orchestration.replicas():
        service = services[replica.service]
        model = model_of(service, catalog.models)
        replicas[replica.service] += 1
        if replica.node is None or replica.node not in nodes:
            continue
        node_type = node_type_of(nodes[replica.node])
        instances.append(SimInstance(model, replica.node, node_type))
        owner[f"{model}@{replica.node}"] = f"{service.name}@{replica.node}"
        owner_of[replica.key] = f"{service.name}@{replica.node}"
        profile = catalog.profile(model, node_type)
        cost += (profile.cost_base or 0.0) * seconds if profile is not None else 0.0
    allowed = [m for m in (contract.models or catalog.models) if m not in policy.exclude
               and any(i.model == m for i in instances)]
    served_contract = contract.model_copy(update={"models": tuple(allowed) or contract.models})
    rng = np.random.default_rng(seed)
    times = arrivals("poisson", rate=rate, duration_s=seconds, seed=seed)
    queries = [SimQuery(f"q{seed}-{i}", float(t), int(rng.integers(CLASSES))) for i, t in enumerate(times)]
    setup = SimulationSetup(instances=instances, contract=served_contract, catalog=catalog,
                            scheduler="fastest" if policy.degrade else "all-models",
                            service_time=ProfileServiceTime(catalog), prediction=ProfileConfusion(catalog),
                            seed=seed, record_service=True, gateway_overhead_s=GATEWAY_OVERHEAD_S)
    result = simulate(setup, queries)
    arrival = {q.query_id: q.arrival_s for q in queries}
    member_ms: dict[str, list[float]] = defaultdict(list)
    busy: dict[str, float] = defaultdict(float)
    for span in result.service:
        model = span.instance.partition("@")[0]
        member_ms[model].append((span.end_s - arrival[span.query_id]) * 1000.0)
        busy[owner.get(span.instance, span.instance)] += max(0.0, min(span.end_s, seconds) - span.start_s)
    answered = [r for r in result.records if r.answered]
    correct = sum(1 for r in answered if r.correct)
    latencies = [r.latency_s * 1000.0 for r in answered]
    window = WindowMetrics(
        app=app, run=run, consumer=contract.consumer, start=start, end=start + timedelta(seconds=seconds),
        requests=len(result.records), errors=len(result.records) - len(answered),
        throughput_rps=len(answered) / seconds, end_to_end=_stats(latencies),
        stages={"fanout": s} if (s := _stats(latencies)) is not None else {},
        labelled=len(answered), accuracy=correct / len(answered) if answered else None,
        ensemble_size_mean=float(np.mean([r.members for r in answered])) if answered else None,
        cost_total=cost,
        models={m: ModelStats(requests=len(v), latency=_stats(v)) for m, v in member_ms.items()},
        resources={key: ResourceStats(samples=1, cpu_mean=b / seconds, cpu_max=b / seconds, memory_mean=0.0,
                                      memory_max=0.0) for key, b in busy.items()},
    )
    return Served(window, dict(replicas), cost, dict(Counter(owner_of.values())))
