"""Training time, model size and per-member latency / accuracy of the example applications on this machine.

    .venv/bin/python benchmarks/example_apps.py                  # all four apps, full data (~3-5 min on 2 cores)
    .venv/bin/python benchmarks/example_apps.py --app bts        # one app

Each app's models are trained into a fresh temporary data dir (training time = the first ensure_models,
cache included), then every member is profiled in-process on the app's held-out set (rohe.serving.profiling:
p50 / p99 latency of single-sample calls, accuracy; for bts also the MAE in kWh). Model size = the member's
cache file. Results: a Rich table and benchmarks/results/example_apps.json, with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from rohe.examples.registry import EXAMPLE_APPS
from rohe.serving.profiling import profile_models

RESULTS = Path(__file__).resolve().parent / "results" / "example_apps.json"


def measure(name: str, data_dir: Path) -> list[dict[str, Any]]:
    app = EXAMPLE_APPS[name]
    started = time.perf_counter()
    bundle = app.ensure_models(data_dir)
    training_s = time.perf_counter() - started
    workload = app.workload(data_dir)
    catalog = profile_models(workload.predictors, workload.inputs, workload.labels, "local",
                             class_names=workload.class_names, repeats=100, warmup=10, rounds=1)
    rows = []
    for profile in catalog.profiles:
        path = Path(bundle.directory) / f"{profile.model}.joblib"
        row: dict[str, Any] = {
            "app": name, "model": profile.model, "training_s": round(training_s, 1),
            "size_kb": round(path.stat().st_size / 1024, 1) if path.is_file() else None,
            "p50_ms": round(profile.latency_p50_ms or 0, 3), "p99_ms": round(profile.latency_p99_ms or 0, 3),
            "accuracy": round(profile.accuracy or 0, 3),
        }
        if name == "bts":
            from rohe.examples.bts.series import decode, load_dataset

            probabilities = workload.predictors[profile.model].predict_proba(workload.inputs)
            row["mae_kwh"] = round(float(np.mean(np.abs(decode(probabilities) - load_dataset().test.targets))), 3)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--app", choices=sorted(EXAMPLE_APPS), action="append")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    for name in args.app or list(EXAMPLE_APPS):
        with tempfile.TemporaryDirectory() as directory:
            rows.extend(measure(name, Path(directory)))
    table = Table(title="example applications on this machine")
    columns = ("app", "model", "training_s", "size_kb", "p50_ms", "p99_ms", "accuracy", "mae_kwh")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(row.get(c, "")) for c in columns))
    load = os.getloadavg()
    Console().print(table)
    Console().print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"machine": platform.platform(), "cpus": os.cpu_count(),
                                   "load_average": load, "rows": rows}, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
