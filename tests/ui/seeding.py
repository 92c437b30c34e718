"""Seed a store directly for the console's browser tests and benchmarks/ui.py: nodes, services placed by the real
placement round, observation windows per consumer, violations with causes, an incident, contract files and a
report folder."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from rohe.core.config import Settings
from rohe.core.domain import Allocation, Memory, Node, ReplicaStatus, Service
from rohe.observation.metrics import ALL_CONSUMERS, LatencyStats, ModelStats, ResourceStats, WindowMetrics
from rohe.observation.violations import Cause, CauseKind, Violation
from rohe.platform import Platform

APP = "vision"
RUN = "r1"
WINDOW_S = 10


@dataclass
class Seeded:
    nodes: int
    replicas: int
    consumers: list[str]
    violation_ids: list[str]


EXAMPLE_CONTRACT = Path(__file__).parents[2] / "src/rohe/examples/object_classification/data/accuracy-first.yaml"


def _contract(path: Path, consumer: str, deadline_ms: float, accuracy: float) -> Path:
    document = yaml.safe_load(EXAMPLE_CONTRACT.read_text(encoding="utf-8"))
    document.update(consumer=consumer, deadline_ms=deadline_ms,
                    constraints=[{"metric": "accuracy", "aggregate": "max", "min": accuracy}])
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def _window(t0: datetime, consumer: str, i: int, p99: float, accuracy: float, models: list[str]) -> WindowMetrics:
    start = t0 + timedelta(seconds=WINDOW_S * i)
    requests = 200 + 5 * i
    lat = LatencyStats(count=requests, mean_ms=p99 / 2, p50_ms=p99 / 2.2, p95_ms=p99 * 0.9, p99_ms=p99,
                       max_ms=p99 * 1.2)
    return WindowMetrics(
        app=APP, run=RUN, consumer=consumer, start=start, end=start + timedelta(seconds=WINDOW_S),
        requests=requests, errors=i % 3, throughput_rps=requests / WINDOW_S, end_to_end=lat,
        stages={"preprocessing": lat.model_copy(update={"p99_ms": p99 / 5}), "inference": lat},
        labelled=requests, accuracy=accuracy, cost_total=0.01 * requests,
        models={m: ModelStats(requests=requests, late=(k * i) % 20, latency=lat, labelled=requests, accuracy=accuracy)
                for k, m in enumerate(models)},
        resources={f"{m}-0": ResourceStats(samples=10, cpu_mean=0.4 + k / 10, cpu_max=0.9, memory_mean=120.0 + k,
                                           memory_max=150.0) for k, m in enumerate(models)},
    )


def seed(settings: Settings, *, nodes: int = 6, replicas: int = 20, consumers: int = 2, windows: int = 12,
         gateway_url: str | None = None, reports_dir: Path | None = None, direct: bool = False) -> Seeded:
    """Fill the store of `settings`; the largest sizes are what benchmarks/ui.py measures. `direct` writes the
    allocations round-robin into the store instead of running a placement round (fast at 10,000 replicas)."""
    platform = Platform.open(settings)
    try:
        platform.orchestration.add_nodes([
            Node(name=f"edge-{n:04d}", cores=[1000] * (4 if n % 2 else 8), memory=Memory(rss=8192, vms=8192),
                 labels={"zone": f"z{n % 3}"})
            for n in range(nodes)])
        services = max(1, replicas // 10)
        per = [replicas // services + (1 if s < replicas % services else 0) for s in range(services)]
        platform.orchestration.add_services([
            Service(name=f"svc-{s:03d}", cpu=250, memory=Memory(rss=256, vms=256), replicas=per[s])
            for s in range(services)])
        if direct:
            _place_directly(platform, nodes)
        else:
            platform.orchestration.place_queued()
        if nodes > 1:
            platform.orchestration.drain_node("edge-0001")
            platform.orchestration.place_queued()
        # A service too large for any node keeps a replica queued with a reason.
        platform.orchestration.add_services([Service(name="huge-model", cpu=64000, memory=Memory(rss=256, vms=256))])
        platform.orchestration.place_queued()

        platform.observation.register_app(APP, RUN, "ops", gateway_url)
        data = Path(settings.data_dir)
        data.mkdir(parents=True, exist_ok=True)
        names = [f"consumer-{c:02d}" if consumers > 2 else ("accuracy-first", "fast-and-cheap")[c]
                 for c in range(consumers)]
        contracts = [_contract(data / f"{name}.yaml", name, 300.0 + 50 * (c % 3), 0.85) for c, name in enumerate(names)]
        platform.observation.store.set_agent(APP, RUN, "stopped", {"app": APP, "run": RUN,
                                                                   "contracts": [str(p) for p in contracts]})
        models = ["mlp", "cnn", "resnet"]
        # Recent windows: retention purges old ones when the API starts.
        t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=WINDOW_S * windows)
        batch = []
        for c, name in enumerate(names):
            for i in range(windows):
                # The first consumer slows down in its last windows: its p99 crosses the deadline.
                p99 = 180.0 + 8 * i + (260.0 if c == 0 and i >= windows - 2 else 0.0)
                batch.append(_window(t0, name, i, p99, 0.93 - 0.002 * i, models))
        for i in range(windows):
            batch.append(_window(t0, ALL_CONSUMERS, i, 200.0 + 5 * i, 0.92, models))
        platform.observation.store.save_windows(batch)
        last = t0 + timedelta(seconds=WINDOW_S * (windows - 1))
        violations = [
            Violation(app=APP, run=RUN, consumer=names[0], clause="deadline_ms <= 300", metric="end_to_end.p99_ms",
                      operator="<=", threshold=300.0, observed=batch[windows - 1].end_to_end.p99_ms,  # type: ignore[union-attr]
                      window_start=last, window_end=last + timedelta(seconds=WINDOW_S),
                      explanation="p99 over the deadline: stage inference took most of it; model resnet was slow",
                      causes=[Cause(kind=CauseKind.STAGE, name="inference", share=0.7, evidence="p99 528 ms"),
                              Cause(kind=CauseKind.MODEL, name="resnet", share=0.3, evidence="late in 18%")]),
        ]
        platform.observation.store.save_violations(violations)
        if reports_dir is not None:
            folder = reports_dir / "load-run-1"
            folder.mkdir(parents=True, exist_ok=True)
            with (folder / "summary.csv").open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(["consumer", "algorithm", "p99_ms", "deadline_miss_ratio", "accuracy"])
                writer.writerow(["accuracy-first", "all-models", "412.5", "0.031", "0.934"])
                writer.writerow(["fast-and-cheap", "single-best", "118.2", "0.004", "0.881"])
            (folder / "summary.json").write_text(json.dumps({"requests": 2400, "failure": {"killed": "cnn"}}))
            _png(folder / "latency_over_time.png")
        return Seeded(nodes, replicas + 1, names, [str(v.violation_id) for v in violations])
    finally:
        platform.close()


def _place_directly(platform: Platform, nodes: int) -> None:
    replicas = platform.orchestration.replicas(status=ReplicaStatus.QUEUEING)
    placed = []
    for j, replica in enumerate(replicas):
        node = j % nodes
        cores = 4 if node % 2 else 8
        allocation = Allocation(node=f"edge-{node:04d}", cpu=250, cores={(j // nodes) % cores: 250}, rss=256, vms=256)
        placed.append(replica.model_copy(update={"status": ReplicaStatus.PLACED, "allocation": allocation}))
    platform.store.update_replicas(placed)


def _png(path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 2.5))
    ax.plot([0, 1, 2, 3], [120, 180, 160, 140], label="p99")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("latency (ms)")
    ax.legend()
    fig.savefig(path, dpi=80)
    plt.close(fig)
