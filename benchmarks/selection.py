"""Time full ensemble searches: `rohe-ensemble` (vectorised) against `naive` (one Python call per candidate).

    .venv/bin/python benchmarks/selection.py            # full grid, a few minutes
    .venv/bin/python benchmarks/selection.py --quick    # fewer repeats, smaller naive budget, < 30 s

Catalogs are synthetic but shaped like ROHE's (13 classes, per-class accuracy/confidence, throughput,
latency, base cost), seeded so every run times the same problems. The contract has ROHE's five objectives
(miss rate of two classes, general accuracy, confidence on one class, cost) plus a deadline. Results go to
benchmarks/results/selection.json and a Rich table.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from rohe.core.contracts import ConsumerContract, parse_contract
from rohe.core.profiles import ModelProfile, ProfileCatalog
from rohe.serving.selection import NaiveEnumeration, RoheEnsemble

MODEL_COUNTS = (5, 10, 20, 50)
NODE_COUNTS = (1, 2, 3, 4)
ENSEMBLE_SIZES = (1, 2, 3)
RESULTS = Path(__file__).resolve().parent / "results" / "selection.json"


def synthetic_catalog(models: int, nodes: int, seed: int = 7) -> ProfileCatalog:
    rng = np.random.default_rng(seed + 1000 * models + nodes)
    profiles = []
    for m in range(models):
        class_accuracy = {c: float(rng.uniform(0.3, 0.99)) for c in range(13)}
        class_confidence = {c: float(rng.uniform(0.5, 0.99)) for c in range(13)}
        accuracy = sum(class_accuracy.values()) / 13
        model_cost = float(rng.uniform(150, 550))
        for n in range(nodes):
            speed = 1.0 + n  # later node types are faster and dearer
            p99 = float(rng.uniform(20, 200)) / speed
            profiles.append(
                ModelProfile(
                    model=f"model{m}",
                    node_type=f"node{n}",
                    latency_p50_ms=p99 / 3,
                    latency_p99_ms=p99,
                    throughput_rps=float(rng.uniform(8, 25)) * speed,
                    accuracy=accuracy,
                    class_accuracy=class_accuracy,
                    class_confidence=class_confidence,
                    cost_base=1e-5 * (model_cost + 150 * speed),
                )
            )
    return ProfileCatalog.of(profiles)


def benchmark_contract(size: int) -> ConsumerContract:
    return parse_contract(
        {
            "consumer": "benchmark",
            "ensemble": {"min": size, "max": size},
            "required_throughput": 60,
            "deadline_ms": 150,
            "objectives": [
                {
                    "name": "missRateOfClass1and6",
                    "metric": "miss_rate",
                    "classes": [1, 6],
                    "aggregate": "prod",
                    "direction": "min",
                    "min": 1e-10,
                    "max": 0.1,
                    "scale": {"kind": "log"},
                },
                {
                    "name": "missRateOfClass1",
                    "metric": "miss_rate",
                    "classes": [1],
                    "aggregate": "prod",
                    "direction": "min",
                    "min": 1e-3,
                    "max": 0.1,
                    "scale": {"kind": "log"},
                },
                {
                    "name": "generalAccuracy",
                    "metric": "accuracy",
                    "aggregate": "rprod",
                    "direction": "max",
                    "min": 0.6,
                    "max": 0.9999,
                    "scale": {"kind": "log"},
                },
                {
                    "name": "confidenceOnClass1",
                    "metric": "confidence",
                    "classes": [1],
                    "aggregate": "avg",
                    "direction": "max",
                    "min": 0.6,
                    "max": 0.999,
                    "scale": {"kind": "log"},
                },
                {
                    "name": "cost",
                    "metric": "cost",
                    "aggregate": "sum",
                    "direction": "min",
                    "min": 0.01,
                    "max": 0.9,
                    "scale": {"kind": "log"},
                },
            ],
        }
    )


def candidate_count(models: int, nodes: int, size: int) -> int:
    return math.comb(models, size) * nodes**size


def time_search(search: Any, contract: ConsumerContract, catalog: ProfileCatalog, repeats: int) -> dict[str, Any]:
    samples = []
    choice = None
    for _ in range(repeats):
        start = time.perf_counter()
        choice = search.search(contract, catalog)
        samples.append(time.perf_counter() - start)
    assert choice is not None
    ordered = sorted(samples)
    return {
        "p50_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)],
        "repeats": repeats,
        "choice": [list(pair) for pair in choice.key],
        "score": choice.score,
    }


def run(quick: bool) -> list[dict[str, Any]]:
    repeats = 3 if quick else 10
    naive_budget = 20_000 if quick else 160_000  # candidates; naive costs ~50 us each
    vector_budget = 10**9
    rows = []
    for models in MODEL_COUNTS:
        for nodes in NODE_COUNTS:
            catalog = synthetic_catalog(models, nodes)
            for size in ENSEMBLE_SIZES:
                contract = benchmark_contract(size)
                candidates = candidate_count(models, nodes, size)
                row: dict[str, Any] = {"models": models, "node_types": nodes, "size": size, "candidates": candidates}
                if candidates <= vector_budget:
                    row["rohe-ensemble"] = time_search(RoheEnsemble(), contract, catalog, repeats)
                if candidates <= naive_budget:
                    row["naive"] = time_search(NaiveEnumeration(), contract, catalog, max(1, repeats // 3))
                    if "rohe-ensemble" in row:
                        assert row["naive"]["choice"] == row["rohe-ensemble"]["choice"], row
                rows.append(row)
    return rows


def render(rows: list[dict[str, Any]], console: Console) -> None:
    table = Table(title="Ensemble search, time per full search (ms)")
    for column in ("models", "node types", "size", "candidates", "rohe p50", "rohe p99", "naive p50", "speed-up"):
        table.add_column(column, justify="right")
    for row in rows:
        fast, slow = row.get("rohe-ensemble"), row.get("naive")
        speedup = f"{slow['p50_ms'] / fast['p50_ms']:.0f}x" if fast and slow else "-"
        table.add_row(
            str(row["models"]),
            str(row["node_types"]),
            str(row["size"]),
            f"{row['candidates']:,}",
            f"{fast['p50_ms']:.2f}" if fast else "skipped",
            f"{fast['p99_ms']:.2f}" if fast else "-",
            f"{slow['p50_ms']:.1f}" if slow else "-",
            speedup,
        )
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer repeats and smaller budgets (< 30 s)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    started = time.perf_counter()
    rows = run(args.quick)
    render(rows, Console(width=120))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "quick": args.quick,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
        "wall_s": time.perf_counter() - started,
    }
    args.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2), encoding="utf-8")
    Console().print(f"wrote {args.out} in {meta['wall_s']:.1f} s")


if __name__ == "__main__":
    main()
