"""Validate the simulator against the live stack: the demo's workload run for real, then simulated from the
profiles that run measured, compared per consumer x algorithm.

    .venv/bin/python benchmarks/sim_validation.py                  # runs `rohe demo` (60 s of load), then simulates
    .venv/bin/python benchmarks/sim_validation.py --quick          # `rohe demo --quick` (8 s of load)
    .venv/bin/python benchmarks/sim_validation.py --from reports/demo   # reuse a finished demo's report folder

What the simulation is given, all from the live run's report folder: the measured profiles (profiles.csv:
latency p50/p99 -> lognormal service times, per-class accuracy and confidence -> predictions), the placed
model replicas (summary.json, one instance of concurrency 1 per replica process), the crash of the killed
service (from its kill to the supervisor's "healthy"), every request's intended send time, true class,
consumer, served algorithm and deadline (requests.csv), the consumers' contracts and the pipeline's
aggregation, and one number calibrated from the run: the gateway + client overhead, the median of
(latency - fan-out time) over answered requests. Queueing, fan-out, escalation and aggregation come from
the simulation. Not modelled: the model processes, gateway and load generator sharing the machine's cores.
Each simulation is repeated over several seeds; the table shows the mean.
Results: a Rich table and benchmarks/results/sim_validation.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from rohe.core.contracts import load_contract
from rohe.core.profiles import load_catalog
from rohe.examples.object_classification import CONTRACT_FILES, PIPELINE_FILE, data_file
from rohe.serving.pipeline import load_pipeline
from rohe.simulation import (
    Failure,
    ProfileConfusion,
    ProfileServiceTime,
    SimInstance,
    SimQuery,
    SimRecord,
    SimulationSetup,
    simulate,
)

RESULTS = Path(__file__).resolve().parent / "results" / "sim_validation.json"
ANSWERED = ("ok", "partial")
SEEDS = 5


def run_demo(out: Path, quick: bool) -> None:
    rohe = Path(sys.executable).parent / "rohe"
    command = [str(rohe), "demo", "--out", str(out)] + (["--quick"] if quick else [])
    subprocess.run(command, check=True)


def live_rows(folder: Path) -> list[dict[str, str]]:
    with (folder / "requests.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def overhead_s(rows: Sequence[dict[str, str]]) -> float:
    """Median of (client latency - gateway fan-out) over answered requests: everything but the members."""
    gaps = [
        float(r["latency_ms"]) - float(r["fanout_ms"])
        for r in rows
        if r["status"] in ANSWERED and r["latency_ms"] and r["fanout_ms"]
    ]
    return max(0.0, statistics.median(gaps) / 1000) if gaps else 0.0


def build_setup(folder: Path, rows: Sequence[dict[str, str]], seed: int) -> tuple[SimulationSetup, list[SimQuery]]:
    catalog = load_catalog(folder / "profiles.csv")
    summary = json.loads((folder / "summary.json").read_text())
    pipeline = load_pipeline(data_file(PIPELINE_FILE))
    modality = pipeline.modalities[0]
    model_of = {service: model for model, service in modality.models.items()}
    (node_type,) = catalog.node_types  # the demo profiles every model on this one machine
    instances = [
        SimInstance(model_of[r["service"]], r["allocation"]["node"], node_type, 1)
        for r in summary["placement"]["replicas"]
        if r["service"] in model_of and r["allocation"] is not None
    ]
    killed = summary["killed_service"]
    events = summary["events"]
    killed_at = next(e["at_s"] for e in events if e.get("signal") == "SIGKILL")
    healthy_at = next(
        (e["at_s"] for e in events if e["event"] == f"supervisor: {killed} healthy" and e["at_s"] >= killed_at),
        summary["elapsed_s"],
    )
    failures = [Failure("crash", killed_at, model_of[killed], healthy_at - killed_at)]
    first, *others = [load_contract(data_file(name)) for name in CONTRACT_FILES]
    setup = SimulationSetup(
        instances,
        first,
        catalog,
        "adaptive",
        ProfileServiceTime(catalog),
        ProfileConfusion(catalog),
        failures=failures,
        seed=seed,
        gateway_overhead_s=overhead_s(rows),
        aggregation=modality.aggregation,
        consumers=others,
    )
    queries = [
        SimQuery(
            r["index"],
            float(r["intended_s"]),
            int(r["true_class"]),
            deadline_s=float(r["deadline_ms"]) / 1000 if r["deadline_ms"] else None,  # dropped: never sent
            consumer=r["consumer"],
            scheduler=r["served_algorithm"] or r["algorithm"],
        )
        for r in rows
    ]
    return setup, queries


def metrics(latencies_ms: Sequence[float], missed: Sequence[bool], correct: Sequence[bool]) -> dict[str, float | None]:
    return {
        "requests": len(missed),
        "p50_ms": float(np.percentile(latencies_ms, 50)) if latencies_ms else None,
        "p99_ms": float(np.percentile(latencies_ms, 99)) if latencies_ms else None,
        "miss_ratio": sum(missed) / len(missed) if missed else None,
        "accuracy": sum(correct) / len(correct) if correct else None,
    }


def live_metrics(rows: Sequence[dict[str, str]]) -> dict[str, float | None]:
    answered = [r for r in rows if r["status"] in ANSWERED]
    return metrics(
        [float(r["latency_ms"]) for r in answered],
        [r["deadline_missed"] == "True" for r in rows],
        [r["correct"] == "True" for r in answered if r["correct"]],
    )


def sim_metrics(records: Sequence[SimRecord]) -> dict[str, float | None]:
    answered = [r for r in records if r.answered]
    return metrics([r.latency_s * 1000 for r in answered], [r.late for r in records], [r.correct for r in answered])


def mean_metrics(runs: Sequence[dict[str, float | None]]) -> dict[str, float | None]:
    result: dict[str, float | None] = {}
    for key in runs[0]:
        values = [r[key] for r in runs if r[key] is not None]
        result[key] = float(np.mean(values)) if values else None  # type: ignore[arg-type]
    return result


def error(live: float | None, sim: float | None, relative: bool) -> float | None:
    if live is None or sim is None:
        return None
    if relative:
        return (sim - live) / live if live else None
    return sim - live


def compare(folder: Path, seeds: int) -> list[dict[str, Any]]:
    rows = live_rows(folder)
    groups: dict[tuple[str, str], list[str]] = {}
    for r in rows:
        for key in ((r["consumer"], "all"), (r["consumer"], r["served_algorithm"] or r["algorithm"])):
            groups.setdefault(key, []).append(r["index"])
    by_index = {r["index"]: r for r in rows}
    simulated: list[dict[str, SimRecord]] = []
    for seed in range(seeds):
        setup, queries = build_setup(folder, rows, seed)
        simulated.append({r.query_id: r for r in simulate(setup, queries).records})
    table = []
    for (consumer, algorithm), indices in sorted(groups.items()):
        live = live_metrics([by_index[i] for i in indices])
        sim = mean_metrics([sim_metrics([run[i] for i in indices]) for run in simulated])
        entry: dict[str, Any] = {"consumer": consumer, "algorithm": algorithm, "live": live, "sim": sim}
        entry["error"] = {
            "p50_rel": error(live["p50_ms"], sim["p50_ms"], True),
            "p99_rel": error(live["p99_ms"], sim["p99_ms"], True),
            "miss_ratio_abs": error(live["miss_ratio"], sim["miss_ratio"], False),
            "accuracy_abs": error(live["accuracy"], sim["accuracy"], False),
        }
        table.append(entry)
    return table


def fmt(value: float | None, kind: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if kind == "ms":
        return f"{value:.1f}"
    if kind == "pct":
        return f"{value:.1%}"
    if kind == "rel":
        return f"{value:+.0%}"
    return f"{value * 100:+.1f} pp"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="folder", type=Path, help="a finished demo's report folder")
    parser.add_argument("--quick", action="store_true", help="run `rohe demo --quick` (8 s of load)")
    parser.add_argument("--seeds", type=int, default=SEEDS)
    args = parser.parse_args()
    folder: Path = args.folder or Path(tempfile.mkdtemp(prefix="rohe-sim-validation-"))
    if args.folder is None:
        run_demo(folder, args.quick)
    rows = compare(folder, args.seeds)
    table = Table(title=f"simulated vs live ({folder}); sim = mean of {args.seeds} seeds")
    for column in (
        "consumer",
        "algorithm",
        "n",
        "p50 live/sim",
        "err",
        "p99 live/sim",
        "err",
        "miss live/sim",
        "err",
        "acc live/sim",
        "err",
    ):
        table.add_column(column)
    for row in rows:
        live, sim, err = row["live"], row["sim"], row["error"]
        table.add_row(
            row["consumer"],
            row["algorithm"],
            str(live["requests"]),
            f"{fmt(live['p50_ms'], 'ms')} / {fmt(sim['p50_ms'], 'ms')}",
            fmt(err["p50_rel"], "rel"),
            f"{fmt(live['p99_ms'], 'ms')} / {fmt(sim['p99_ms'], 'ms')}",
            fmt(err["p99_rel"], "rel"),
            f"{fmt(live['miss_ratio'], 'pct')} / {fmt(sim['miss_ratio'], 'pct')}",
            fmt(err["miss_ratio_abs"], "pp"),
            f"{fmt(live['accuracy'], 'pct')} / {fmt(sim['accuracy'], 'pct')}",
            fmt(err["accuracy_abs"], "pp"),
        )
    console = Console()
    console.print(table)
    load = os.getloadavg()
    live_all = live_rows(folder)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "benchmark": "sim_validation",
                "source": str(folder),
                "requests": len(live_all),
                "gateway_overhead_s": overhead_s(live_all),
                "seeds": args.seeds,
                "load_average": [round(x, 2) for x in load],
                "groups": rows,
            },
            indent=2,
        )
        + "\n"
    )
    console.print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; wrote {RESULTS}")


if __name__ == "__main__":
    main()
