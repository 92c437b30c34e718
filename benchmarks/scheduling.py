"""Time one `plan` call per request scheduler on synthetic catalogs of 5, 10, 20 and 50 models on 1-4 node
types.

    .venv/bin/python benchmarks/scheduling.py            # 5,000 timed calls per cell
    .venv/bin/python benchmarks/scheduling.py --quick    # 500 calls per cell

Catalogs are seeded (13 classes, p99 20-200 ms, faster and dearer on later node types); the consumer is
prepared once, as in serving, and each request draws its remaining deadline from 30-250 ms. Adaptive's time
includes building its phase-1 rule, not running it. `rohe-ensemble` searches once per consumer (its first
request; reported as `first call`) and then only filters its chosen members per request.
Results: a Rich table and benchmarks/results/scheduling.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from rohe.core.contracts import ConsumerContract
from rohe.core.profiles import ModelProfile, ProfileCatalog
from rohe.serving.scheduling import RequestContext, available_schedulers, get_scheduler, prepare

MODEL_COUNTS = (5, 10, 20, 50)
NODE_TYPE_COUNTS = (1, 2, 3, 4)
RESULTS = Path(__file__).resolve().parent / "results" / "scheduling.json"


def synthetic_catalog(models: int, node_types: int, seed: int = 7) -> ProfileCatalog:
    rng = np.random.default_rng(seed + models)
    profiles = []
    for m in range(models):
        per_class = {c: float(rng.uniform(0.3, 0.99)) for c in range(13)}
        for n in range(node_types):
            p99 = float(rng.uniform(20, 200)) / (1 + n)
            profiles.append(
                ModelProfile(
                    model=f"model{m}",
                    node_type=f"node{n}",
                    latency_p50_ms=p99 / 3,
                    latency_p99_ms=p99,
                    throughput_rps=1000 / p99,
                    accuracy=sum(per_class.values()) / 13,
                    class_accuracy=per_class,
                    cost_per_request=float(rng.uniform(0.1, 2.0)) * (1 + n),
                )
            )
    return ProfileCatalog.of(profiles)


def consumer_contract() -> ConsumerContract:
    return ConsumerContract.model_validate(
        {
            "consumer": "bench",
            "ensemble": {"min": 1, "max": 3},
            "required_throughput": 10,
            "deadline_ms": 250,
            "objectives": [{"metric": "accuracy", "direction": "maximize", "min": 0, "max": 1}],
        }
    )


def time_scheduler(name: str, models: int, node_types: int, calls: int) -> dict[str, Any]:
    scheduler = get_scheduler(name)
    consumer = prepare(consumer_contract(), synthetic_catalog(models, node_types))
    rng = np.random.default_rng(11)
    deadlines = rng.uniform(30, 250, size=calls).tolist()
    truths = rng.integers(0, 13, size=calls).tolist()
    requests = [
        RequestContext(consumer, d, rng, ground_truth=t, oldest_waiting_ms=5.0)
        for d, t in zip(deadlines, truths, strict=True)
    ]
    first = time.perf_counter_ns()
    scheduler.plan(requests[0])  # builds what is cached per consumer (views; rohe-ensemble's search)
    first_ms = (time.perf_counter_ns() - first) / 1e6
    for r in requests[: min(50, calls)]:  # warm NumPy paths
        scheduler.plan(r)
    samples = np.empty(calls)
    sizes = 0
    for i, r in enumerate(requests):
        start = time.perf_counter_ns()
        plan = scheduler.plan(r)
        samples[i] = time.perf_counter_ns() - start
        sizes += len(plan.phase0)
    return {
        "scheduler": name,
        "models": models,
        "node_types": node_types,
        "calls": calls,
        "first_call_ms": first_ms,
        "p50_us": float(np.percentile(samples, 50)) / 1000,
        "p99_us": float(np.percentile(samples, 99)) / 1000,
        "mean_members": sizes / calls,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="500 calls per cell instead of 5,000")
    args = parser.parse_args()
    calls = 500 if args.quick else 5000
    rows = [
        time_scheduler(name, models, nodes, calls)
        for name in available_schedulers()
        for nodes in NODE_TYPE_COUNTS
        for models in MODEL_COUNTS
    ]
    table = Table(title=f"RequestScheduler.plan p50 / p99 in microseconds, {calls} calls per cell")
    table.add_column("scheduler")
    table.add_column("node types", justify="right")
    for models in MODEL_COUNTS:
        table.add_column(f"{models} models", justify="right")
    table.add_column("first call (ms), 50 models", justify="right")
    for name in available_schedulers():
        for nodes in NODE_TYPE_COUNTS:
            cells = {r["models"]: r for r in rows if r["scheduler"] == name and r["node_types"] == nodes}
            table.add_row(
                name,
                str(nodes),
                *(f"{cells[m]['p50_us']:.0f} / {cells[m]['p99_us']:.0f}" for m in MODEL_COUNTS),
                f"{cells[MODEL_COUNTS[-1]]['first_call_ms']:.1f}",
            )
    console = Console()
    if not console.is_terminal:
        console.width = 140
    console.print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    meta = {"python": platform.python_version(), "machine": platform.machine(), "calls_per_cell": calls}
    RESULTS.write_text(json.dumps({"meta": meta, "results": rows}, indent=2) + "\n", encoding="utf-8")
    Console().print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
