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
the simulation. Each simulation is repeated over several seeds; the table shows the mean.

The CPU is simulated three ways, side by side (rohe.simulation.cpu):
- independent: every replica is a server of its own (the simulator's model before CPU sharing);
- shared: every replica on one node with this machine's cores, less the cores the demo's own process
  (in-process gateway, load generator, observation agent) used during the load, measured from its CPU time;
- shared+host: as shared, less also what every other process on the machine used meanwhile (other users'
  work on a shared machine; on a quiet machine it matches `shared`).
With `--from` nothing is measured: both shared variants take `--background-cores`.
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
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import psutil
from rich.console import Console
from rich.table import Table

from rohe.core.contracts import load_contract
from rohe.core.profiles import load_catalog
from rohe.examples.object_classification import CONTRACT_FILES, PIPELINE_FILE, data_file
from rohe.serving.pipeline import load_pipeline
from rohe.simulation import (
    Failure,
    NodeCpu,
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
MACHINE = "this-machine"  # the demo runs every replica on this one machine, whatever node placement named
SAMPLE_S = 0.25
# With --from (no live measurement): the demo's process (in-process gateway, load generator, agent) used
# 0.08 cores over the full demo's load and 0.13 over --quick's, measured on 2026-12-03 (benchmarks/README.md).
DEFAULT_BACKGROUND_CORES = 0.1


@dataclass(frozen=True)
class Sample:
    """CPU seconds so far, at wall time `at`: the demo's own process, each child (pid -> (created, cpu))
    and the whole machine (busy = not idle)."""

    at: float
    main: float
    children: dict[int, tuple[float, float]]
    host: float


def sample(demo: psutil.Process) -> Sample:
    times = demo.cpu_times()
    children: dict[int, tuple[float, float]] = {}
    for child in demo.children(recursive=True):
        try:
            child_times = child.cpu_times()
            children[child.pid] = (child.create_time(), child_times.user + child_times.system)
        except psutil.Error:
            continue  # gone between listing and reading
    host = psutil.cpu_times()
    busy = sum(host) - host.idle - getattr(host, "iowait", 0.0)
    return Sample(time.time(), times.user + times.system, children, busy)


def run_demo(out: Path, quick: bool) -> list[Sample]:
    """Run `rohe demo`, sampling the CPU time of its process, its children and the machine meanwhile."""
    rohe = Path(sys.executable).parent / "rohe"
    command = [str(rohe), "demo", "--out", str(out)] + (["--quick"] if quick else [])
    process = subprocess.Popen(command)
    demo = psutil.Process(process.pid)
    samples: list[Sample] = []
    while process.poll() is None:
        try:
            samples.append(sample(demo))
        except psutil.Error:
            break  # the demo exited between poll and sample
        time.sleep(SAMPLE_S)
    if process.wait() != 0:
        raise SystemExit(f"rohe demo failed with exit code {process.returncode}")
    return samples


def interpolate(at: float, points: Sequence[tuple[float, float]]) -> float:
    return float(np.interp(at, [p[0] for p in points], [p[1] for p in points]))


def load_cpu(samples: Sequence[Sample], folder: Path) -> dict[str, float] | None:
    """Cores used during the load phase by the demo's process, the model processes and everything else.

    The load phase is placed in wall time by the restarted service: its process's creation time minus the
    summary's `at_s` of its restart gives the load's start. None when that process was never sampled."""
    summary = json.loads((folder / "summary.json").read_text())
    restarted = f"supervisor: {summary['killed_service']} restarted"
    event = next((e for e in summary["events"] if e["event"] == restarted), None)
    created = next((s.children[event["pid"]][0] for s in samples if event and event["pid"] in s.children), None)
    if event is None or created is None or len(samples) < 2:
        return None
    start = created - event["at_s"]
    length = float(summary["elapsed_s"])
    end = start + length
    main = interpolate(end, [(s.at, s.main) for s in samples]) - interpolate(start, [(s.at, s.main) for s in samples])
    host = interpolate(end, [(s.at, s.host) for s in samples]) - interpolate(start, [(s.at, s.host) for s in samples])
    models = 0.0
    for pid in {pid for s in samples for pid in s.children}:
        seen = [(s.at, s.children[pid][1]) for s in samples if pid in s.children]
        born = next(s.children[pid][0] for s in samples if pid in s.children)
        points = [(born, 0.0), *seen] if born < seen[0][0] else seen
        models += interpolate(min(end, seen[-1][0]), points) - interpolate(max(start, born), points)
    return {
        "load_s": length,
        "demo_process_cores": main / length,
        "model_processes_cores": models / length,
        "other_processes_cores": max(0.0, host - main - models) / length,
    }


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


def build_setup(
    folder: Path, rows: Sequence[dict[str, str]], seed: int, cpu: NodeCpu | None = None
) -> tuple[SimulationSetup, list[SimQuery]]:
    """The live run as a simulation; with `cpu`, every replica shares this machine's CPU."""
    catalog = load_catalog(folder / "profiles.csv")
    summary = json.loads((folder / "summary.json").read_text())
    pipeline = load_pipeline(data_file(PIPELINE_FILE))
    modality = pipeline.modalities[0]
    model_of = {service: model for model, service in modality.models.items()}
    (node_type,) = catalog.node_types  # the demo profiles every model on this one machine
    instances = [
        SimInstance(model_of[r["service"]], MACHINE if cpu else r["allocation"]["node"], node_type, 1)
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
        cpu=None if cpu is None else {MACHINE: cpu},
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


def compare(folder: Path, seeds: int, variants: dict[str, NodeCpu | None]) -> list[dict[str, Any]]:
    """Per consumer x algorithm: live metrics, and each CPU variant's simulated metrics and errors."""
    rows = live_rows(folder)
    groups: dict[tuple[str, str], list[str]] = {}
    for r in rows:
        for key in ((r["consumer"], "all"), (r["consumer"], r["served_algorithm"] or r["algorithm"])):
            groups.setdefault(key, []).append(r["index"])
    by_index = {r["index"]: r for r in rows}
    simulated: dict[str, list[dict[str, SimRecord]]] = {name: [] for name in variants}
    for name, cpu in variants.items():
        for seed in range(seeds):
            setup, queries = build_setup(folder, rows, seed, cpu)
            simulated[name].append({r.query_id: r for r in simulate(setup, queries).records})
    table = []
    for (consumer, algorithm), indices in sorted(groups.items()):
        live = live_metrics([by_index[i] for i in indices])
        entry: dict[str, Any] = {"consumer": consumer, "algorithm": algorithm, "live": live, "variants": {}}
        for name, runs in simulated.items():
            sim = mean_metrics([sim_metrics([run[i] for i in indices]) for run in runs])
            entry["variants"][name] = {
                "sim": sim,
                "error": {
                    "p50_rel": error(live["p50_ms"], sim["p50_ms"], True),
                    "p99_rel": error(live["p99_ms"], sim["p99_ms"], True),
                    "miss_ratio_abs": error(live["miss_ratio"], sim["miss_ratio"], False),
                    "accuracy_abs": error(live["accuracy"], sim["accuracy"], False),
                },
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


def variants_of(cores: float, background: float, measured: dict[str, float] | None) -> dict[str, NodeCpu | None]:
    """independent, shared and shared+host (see the module docstring); background capped to leave 5% of a core."""
    top = cores - 0.05
    own = min(top, measured["demo_process_cores"] if measured else background)
    host = min(top, own + measured["other_processes_cores"]) if measured else own
    return {"independent": None, "shared": NodeCpu(cores, own), "shared+host": NodeCpu(cores, host)}


def print_table(console: Console, title: str, rows: Sequence[dict[str, Any]], names: Sequence[str]) -> None:
    table = Table(title=title)
    short = "/".join(n[0] if n != "shared+host" else "h" for n in names)  # i/s/h
    for column in ("consumer", "algorithm", "n", f"p50 live | {short}", "p50 err", f"p99 live | {short}",
                   f"miss live | {short}", "miss err", f"acc live | {short}"):  # fmt: skip
        table.add_column(column)

    def cell(row: dict[str, Any], key: str, kind: str) -> str:
        sims = " / ".join(fmt(row["variants"][n]["sim"][key], kind) for n in names)
        return f"{fmt(row['live'][key], kind)} | {sims}"

    def err(row: dict[str, Any], key: str, kind: str) -> str:
        return " / ".join(fmt(row["variants"][n]["error"][key], kind) for n in names)

    for r in rows:
        table.add_row(r["consumer"], r["algorithm"], str(r["live"]["requests"]), cell(r, "p50_ms", "ms"),
                      err(r, "p50_rel", "rel"), cell(r, "p99_ms", "ms"), cell(r, "miss_ratio", "pct"),
                      err(r, "miss_ratio_abs", "pp"), cell(r, "accuracy", "pct"))  # fmt: skip
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="folder", type=Path, help="a finished demo's report folder")
    parser.add_argument("--quick", action="store_true", help="run `rohe demo --quick` (8 s of load)")
    parser.add_argument("--seeds", type=int, default=SEEDS)
    parser.add_argument("--cores", type=float, default=float(os.cpu_count() or 1), help="this machine's cores")
    parser.add_argument(
        "--background-cores", type=float, default=DEFAULT_BACKGROUND_CORES, help="used with --from (not measured)"
    )
    args = parser.parse_args()
    if not (0 <= args.background_cores < args.cores):
        parser.error(f"--background-cores must be in [0, --cores={args.cores})")
    folder: Path = args.folder or Path(tempfile.mkdtemp(prefix="rohe-sim-validation-"))
    load_before = os.getloadavg()
    measured = None
    if args.folder is None:
        measured = load_cpu(run_demo(folder, args.quick), folder)
    variants = variants_of(args.cores, args.background_cores, measured)
    rows = compare(folder, args.seeds, variants)
    names = list(variants)
    console = Console(width=200)  # nine columns of three numbers: wider than a terminal's default
    described = ", ".join(f"{n}: {c.background_cores:.2f} of {c.cores:g} cores busy" for n, c in variants.items() if c)
    print_table(console, f"simulated vs live ({folder}); sim = mean of {args.seeds} seeds; i = independent, "
                f"s = shared, h = shared+host ({described})", rows, names)  # fmt: skip
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
                "load_average_before": [round(x, 2) for x in load_before],
                "load_average": [round(x, 2) for x in load],
                "measured_cpu": measured,
                "variants": {
                    n: None if c is None else {"cores": c.cores, "background_cores": c.background_cores}
                    for n, c in variants.items()
                },
                "groups": rows,
            },
            indent=2,
        )
        + "\n"
    )
    if measured:
        console.print("during the load, cores used: " + ", ".join(f"{k} {v:.2f}" for k, v in measured.items()))
    console.print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; wrote {RESULTS}")


if __name__ == "__main__":
    main()
