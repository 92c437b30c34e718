"""Serving quality of every scheduling algorithm on the example app, per consumer, through the real gateway.

    .venv/bin/python benchmarks/quality.py            # 120 s of steady load
    .venv/bin/python benchmarks/quality.py --quick    # 15 s

The example app runs as in `rohe demo` (placed on the example edge cluster, five real model services as
local processes, profiles measured on this machine, the gateway on loopback) but without a burst or a
killed service: a steady open-loop Poisson load for both consumers, every algorithm interleaved request by
request so all of them see the same conditions. Per algorithm x consumer: deadline-miss ratio, accuracy
against the held-out labels (never confidence), mean ensemble size, cost, latency. `oracle` reads the
ground truth and is the yardstick, not a contender. Results: a Rich table and benchmarks/results/quality.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import tempfile
from dataclasses import asdict
from pathlib import Path

from rich.console import Console

from rohe.demo.run import example_stack
from rohe.demo.workload import CONSUMERS
from rohe.examples.workload import example_samples
from rohe.serving.loadgen import parse_workload_profile, run_workload
from rohe.serving.report import summary_table

ALGORITHMS = ("adaptive", "rohe-ensemble", "dream", "llf", "single-best", "all-models", "random", "oracle")
RATE = 8.0  # requests/s over both consumers: inside what two shared cores serve
RESULTS = Path(__file__).resolve().parent / "results" / "quality.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="15 s of load instead of 120 s")
    args = parser.parse_args()
    duration = 15.0 if args.quick else 120.0
    console = Console()
    if not console.is_terminal:
        console.width = 160
    load_before = os.getloadavg()
    profile = parse_workload_profile(
        {
            "name": "quality: steady",
            "seed": 11,
            "phases": [
                {
                    "name": "steady",
                    "duration_s": duration,
                    "rate": RATE,
                    "arrival": "poisson",
                    "max_concurrency": 64,
                    "mix": dict.fromkeys(CONSUMERS, 1.0),
                    "algorithms": list(ALGORITHMS),
                }
            ],
        }
    )
    with (
        tempfile.TemporaryDirectory(prefix="rohe-quality-") as scratch,
        example_stack(Path(scratch) / "data", Path(scratch) / "out", console, quick=args.quick) as example,
    ):
        run = run_workload(example.url, profile, example_samples(), progress=True, console=console)
    rows = run.summary()
    console.print(summary_table(rows, title=f"serving quality on the example app ({duration:.0f} s at {RATE} req/s)"))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "benchmark": "quality",
        "mode": "quick" if args.quick else "full",
        "duration_s": duration,
        "rate_rps": RATE,
        "algorithms": list(ALGORITHMS),
        "consumers": list(CONSUMERS),
        "machine": {
            "python": platform.python_version(),
            "cpus": multiprocessing.cpu_count(),
            "loadavg_1m_before": load_before[0],
            "loadavg_1m_after": os.getloadavg()[0],
        },
        "definitions": {
            "deadline_miss_ratio": "late (client-measured from the intended send time, or gateway-flagged), "
            "errors and client drops, over all requests",
            "accuracy": "predicted class == held-out label, over answered requests",
            "cost_mean": "sum over answering members of price/s x their HTTP p50, per answered request",
        },
        "results": [asdict(row) for row in rows],
    }
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
