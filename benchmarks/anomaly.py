"""False-positive rate of the anomaly detectors on stable streams and their delay on an injected level shift.

    .venv/bin/python benchmarks/anomaly.py            # 10 seeds x 2,000 values per stream (~3 min on 2 cores)
    .venv/bin/python benchmarks/anomaly.py --quick    # 3 seeds (~1 min)

Streams (one value per window, like a p99 latency series): Gaussian noise (mean 100, sd 5), heavy-tailed
noise (Student t, 3 degrees of freedom, scaled to the same sd) and a daily-like cycle (sine of amplitude 10 over
200 windows, plus the Gaussian noise). FPR = values flagged / values scored after each detector's warm-up, on
the stable streams. Step: the Gaussian stream with a level shift of k sd at value 1,000; delay = values from
the shift to the first flag (missed when there is none within 50). Results: a Rich table and
benchmarks/results/anomaly.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from rohe.quality import CUSUM, EWMA, Detector, IsolationForestDetector, RobustZScore

LENGTH, SHIFT_AT, SD, HORIZON = 2000, 1000, 5.0, 50
STEPS = (2.0, 4.0, 8.0)
RESULTS = Path(__file__).resolve().parent / "results" / "anomaly.json"
DETECTORS: dict[str, Callable[[int], Detector]] = {
    "robust-z (history 60, |z| > 5)": lambda seed: RobustZScore(),
    "ewma (alpha 0.1, |z| > 5)": lambda seed: EWMA(),
    "cusum (history 60, slack 0.5, h 10)": lambda seed: CUSUM(),
    "isolation-forest (200, margin 0.05)": lambda seed: IsolationForestDetector(seed=seed),
}
WARMUP = {"robust-z": 10, "ewma": 11, "cusum": 10, "isolation-forest": 50}


def stable(kind: str, seed: int) -> np.ndarray:  # type: ignore[type-arg]
    rng = np.random.default_rng(seed)
    if kind == "gaussian":
        return 100 + SD * rng.standard_normal(LENGTH)
    if kind == "student-t(3)":
        return 100 + SD * rng.standard_t(3, LENGTH) / np.sqrt(3.0)  # t(3) has variance 3
    cycle = 10 * np.sin(2 * np.pi * np.arange(LENGTH) / 200)
    return 100 + cycle + SD * rng.standard_normal(LENGTH)


def run(make: Callable[[int], Detector], values: np.ndarray, seed: int) -> tuple[list[int], float]:  # type: ignore[type-arg]
    detector = make(seed)
    began = time.perf_counter()
    flagged = [i for i, v in enumerate(values) if detector.update(float(v)).anomalous]
    return flagged, (time.perf_counter() - began) / len(values) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 seeds instead of 10")
    seeds = range(3 if parser.parse_args().quick else 10)
    results: dict[str, Any] = {"machine": platform.processor() or platform.machine(),
                               "python": platform.python_version(), "length": LENGTH, "seeds": len(seeds),
                               "detectors": {}}
    for name, make in DETECTORS.items():
        warmup = WARMUP[name.split(" ")[0]]
        entry: dict[str, Any] = {"fpr": {}, "step": {}}
        micros: list[float] = []
        for kind in ("gaussian", "student-t(3)", "cycle"):
            flagged = scored = 0
            for seed in seeds:
                found, cost = run(make, stable(kind, seed), seed)
                flagged += len(found)
                scored += LENGTH - warmup
                micros.append(cost)
            entry["fpr"][kind] = flagged / scored
        for step in STEPS:
            delays: list[int] = []
            for seed in seeds:
                values = stable("gaussian", 1000 + seed)
                values[SHIFT_AT:] += step * SD
                found, _ = run(make, values, seed)
                after = [i - SHIFT_AT for i in found if SHIFT_AT <= i < SHIFT_AT + HORIZON]
                if after:
                    delays.append(after[0])
            entry["step"][f"{step:g}sd"] = {"detected": len(delays) / len(seeds),
                                            "median_delay": float(np.median(delays)) if delays else None}
        entry["us_per_value"] = float(np.median(micros))
        results["detectors"][name] = entry

    table = Table(title=f"Anomaly detectors: FPR on stable streams, level shift at value {SHIFT_AT} "
                        f"({len(seeds)} seeds x {LENGTH} values)")
    for header in ("detector", "FPR gaussian", "FPR t(3)", "FPR cycle",
                   *(f"{s:g} sd: found / delay" for s in STEPS), "us/value"):
        table.add_column(header, justify="left" if header == "detector" else "right")
    for name, entry in results["detectors"].items():
        steps = []
        for step in STEPS:
            outcome = entry["step"][f"{step:g}sd"]
            delay = "-" if outcome["median_delay"] is None else f"{outcome['median_delay']:g}"
            steps.append(f"{outcome['detected']:.0%} / {delay}")
        table.add_row(name, *(f"{entry['fpr'][k]:.3%}" for k in ("gaussian", "student-t(3)", "cycle")), *steps,
                      f"{entry['us_per_value']:.0f}")
    Console().print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
