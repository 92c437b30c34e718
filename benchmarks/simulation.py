"""How fast the discrete-event simulator runs, and how its cost grows with requests, models and nodes.

    .venv/bin/python benchmarks/simulation.py            # headline 1,000,000 requests + growth tables (~5-10 min)
    .venv/bin/python benchmarks/simulation.py --quick    # 100,000-request headline, smaller growth tables
    .venv/bin/python benchmarks/simulation.py --cpu-sharing 6.5   # nodes share their 8 cores, 6.5 busy elsewhere

Seeded synthetic catalogs (10 classes; 4 node types, later ones faster; p50 5-40 ms, p99 1.5-3x p50;
per-class accuracy 0.5-0.95; cost per request 0.1-2), a ClusterSpec cluster of N nodes of those types
(8 x 1000m each) and one service per model (500m) placed by rohe's `least-allocated` algorithm, one
instance each with concurrency 1. The consumer wants 2-3 members and accuracy within 500 ms. Poisson
arrivals at the rate that keeps the busiest planned instance at 50% utilisation (lognormal mean service
time from the profiles, members from one real `plan` call), so queues exist but stay stable.
The headline is one million requests under `adaptive` on 50 models and 20 nodes; the target is under 60 s
on one core. Reported per run: wall and CPU seconds, microseconds and events per request, requests/s.
Wall time depends on the machine's load: the load average is recorded with the results, and so is the CPU
time per iteration of a bare Python loop (before and after), to compare machines and loads.
`--cpu-sharing B` makes the instances on a node share its 8 cores, B of them taken by background work
(rohe.simulation.cpu): B = 0 leaves every node more cores than calls (no node is ever shared), B = 6.5 leaves
1.5, so nodes with two or more instances go through processor sharing.
Results: a Rich table and benchmarks/results/simulation.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from rohe.core.contracts import ConsumerContract
from rohe.core.profiles import ModelProfile, ProfileCatalog
from rohe.serving.scheduling import RequestContext, get_scheduler, prepare
from rohe.simulation import (
    ClusterSpec,
    ProfileConfusion,
    ProfileServiceTime,
    SimQuery,
    SimulationSetup,
    arrivals,
    node_cpus,
    place_instances,
    simulate,
)

RESULTS = Path(__file__).resolve().parent / "results" / "simulation.json"
NODE_TYPES = ("rpi4", "jetson-nano", "nuc", "server")
CLASSES = 10
UTILISATION = 0.5


def synthetic_catalog(models: int, seed: int = 11) -> ProfileCatalog:
    rng = np.random.default_rng(seed)
    profiles = []
    for m in range(models):
        per_class = {c: float(rng.uniform(0.5, 0.95)) for c in range(CLASSES)}
        confidence = {c: float(rng.uniform(0.5, 0.95)) for c in range(CLASSES)}
        p50 = float(rng.uniform(5, 40))
        tail = float(rng.uniform(1.5, 3.0))
        cost = float(rng.uniform(0.1, 2.0))
        for n, node_type in enumerate(NODE_TYPES):
            speed = 1 + n / 2
            profiles.append(
                ModelProfile(
                    model=f"model{m}",
                    node_type=node_type,
                    latency_p50_ms=p50 / speed,
                    latency_p99_ms=p50 * tail / speed,
                    throughput_rps=1000 * speed / p50,  # rohe-ensemble sizes replicas by it
                    accuracy=sum(per_class.values()) / CLASSES,
                    class_accuracy=per_class,
                    class_confidence=confidence,
                    cost_per_request=cost,
                )
            )
    return ProfileCatalog.of(profiles)


def contract() -> ConsumerContract:
    return ConsumerContract.model_validate(
        {
            "consumer": "bench",
            "ensemble": {"min": 2, "max": 3},
            "required_throughput": 10,
            "deadline_ms": 500,
            "objectives": [{"metric": "accuracy", "direction": "max", "min": 0, "max": 1}],
        }
    )


def stable_rate(setup: SimulationSetup, service_time: ProfileServiceTime) -> float:
    """Arrivals/s that keep the busiest instance the plan uses at UTILISATION (one plan call, phase 0)."""
    prepared = prepare(setup.contract, setup.catalog)
    deadline = setup.contract.deadline_ms or 1000.0
    rng = np.random.default_rng(0)
    plan = get_scheduler(setup.scheduler).plan(RequestContext(prepared, deadline, rng, ground_truth=0))
    capacity = math.inf
    for model in plan.members:
        replicas = [x for x in setup.instances if x.model == model]
        means = [math.exp(mu + s * s / 2) for mu, s in (service_time.params(model, x.node_type) for x in replicas)]
        capacity = min(capacity, sum(x.concurrency / mean for x, mean in zip(replicas, means, strict=True)))
    return UTILISATION * capacity if math.isfinite(capacity) else 10.0


def build(
    models: int, nodes: int, scheduler: str, requests: int, seed: int = 1, background: float | None = None
) -> tuple[SimulationSetup, list[SimQuery], float]:
    catalog = synthetic_catalog(models)
    cluster = ClusterSpec(NODE_TYPES, nodes, cores=8).build()
    cpu = None if background is None else node_cpus(cluster, background)
    services = ClusterSpec.services(catalog.models, cpu=500)
    instances = place_instances(cluster, services, "least-allocated")
    service_time = ProfileServiceTime(catalog)
    setup = SimulationSetup(
        instances, contract(), catalog, scheduler, service_time, ProfileConfusion(catalog), seed=seed, cpu=cpu
    )
    rate = stable_rate(setup, service_time)
    times = arrivals("poisson", rate=rate, duration_s=requests / rate * 1.05, seed=seed)[:requests]
    queries = [SimQuery(f"q{i}", float(t), i % CLASSES) for i, t in enumerate(times.tolist())]
    return setup, queries, rate


def reference_loop_ns(iterations: int = 5_000_000) -> float:
    """CPU ns per iteration of a bare Python loop: how fast this interpreter runs on this machine right now,
    so figures from a loaded machine can be compared with others."""
    started = time.process_time()
    total = 0
    for i in range(iterations):
        total += i
    return (time.process_time() - started) / iterations * 1e9


def measure(
    models: int, nodes: int, scheduler: str, requests: int, background: float | None = None
) -> dict[str, Any]:
    setup, queries, rate = build(models, nodes, scheduler, requests, background=background)
    cpu = time.process_time()
    result = simulate(setup, queries)
    cpu = time.process_time() - cpu
    records = result.records
    answered = [r.latency_s for r in records if r.answered]
    return {
        "models": models,
        "nodes": nodes,
        "scheduler": scheduler,
        "requests": len(records),
        "rate_rps": round(rate, 2),
        "wall_s": round(result.wall_s, 3),
        "cpu_s": round(cpu, 3),
        "us_per_request": round(result.wall_s / len(records) * 1e6, 2),
        "events_per_request": round(result.events / len(records), 2),
        "requests_per_s": round(len(records) / result.wall_s),
        "p50_ms": round(float(np.percentile(answered, 50)) * 1000, 2) if answered else None,
        "miss_ratio": round(sum(r.late for r in records) / len(records), 4),
        "members_mean": round(sum(r.members for r in records) / len(records), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--cpu-sharing", type=float, metavar="BACKGROUND_CORES", help="share nodes' 8 cores")
    args = parser.parse_args()
    headline = 100_000 if args.quick else 1_000_000
    growth = 20_000 if args.quick else 50_000
    reference_before = reference_loop_ns()
    runs: list[dict[str, Any]] = []
    plan = [("headline", 50, 20, "adaptive", headline)]
    plan += [("requests", 50, 20, "adaptive", n) for n in (growth // 10, growth)]
    plan += [("models", m, 20, "adaptive", growth) for m in (10, 20, 100)]
    plan += [("nodes", 50, n, "adaptive", growth) for n in (5, 80)]
    # Fewer requests per scheduler: all-models sends all 50 models, and dream and random plan every request afresh.
    schedulers = ("single-best", "all-models", "dream", "random", "rohe-ensemble")
    plan += [("scheduler", 50, 20, s, growth // 5) for s in schedulers]
    console = Console()
    for group, models, nodes, scheduler, requests in plan:
        row = {"group": group, **measure(models, nodes, scheduler, requests, args.cpu_sharing)}
        runs.append(row)
        console.print(f"{group}: {row}")
    table = Table(title="discrete-event simulation speed (one process, one core)")
    columns = (
        "group",
        "models",
        "nodes",
        "scheduler",
        "requests",
        "wall_s",
        "cpu_s",
        "us_per_request",
        "events_per_request",
        "p50_ms",
        "miss_ratio",
        "members_mean",
    )
    for column in columns:
        table.add_column(column)
    for row in runs:
        table.add_row(*(str(row[c]) for c in columns))
    console.print(table)
    load = os.getloadavg()
    reference = (reference_before + reference_loop_ns()) / 2
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "benchmark": "simulation",
                "quick": args.quick,
                "cpu_sharing_background_cores": args.cpu_sharing,
                "python": platform.python_version(),
                "machine": platform.machine(),
                "cpus": os.cpu_count(),
                "load_average": [round(x, 2) for x in load],
                "reference_loop_ns_per_iteration": round(reference, 1),
                "target": "1,000,000 requests, 50 models, 20 nodes, one scheduler: under 60 s on one core",
                "runs": runs,
            },
            indent=2,
        )
        + "\n"
    )
    console.print(
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; reference loop {reference:.0f} ns/iteration "
        f"(CPU time; ~40-60 on an idle modern core); wrote {RESULTS}"
    )


if __name__ == "__main__":
    main()
