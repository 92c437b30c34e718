"""The closed loop: time from violation to action and to recovery, violation-minutes avoided, cost, and the
controller's own pass time.

    .venv/bin/python benchmarks/control.py            # 5 seeds of the full scenario (36 windows of 10 s)
    .venv/bin/python benchmarks/control.py --quick    # 2 seeds of the quick one (18 windows)
    .venv/bin/python benchmarks/control.py --live     # once, on the live stack (real processes, real time)

Each seed runs the closed-loop demo scenario (rohe.demo.closed_loop: a load ramping to five times the
contract's throughput on the simulated plant, real stores, real contract evaluation, real controller) with the
controller on and off. Times are in simulated minutes from the start of the first sustained violation (two
windows in a row); `reconcile ms` is wall-clock time of one controller pass (median and max over the run, on
SQLite). Results: a Rich table and benchmarks/results/control.json.

`--live` runs the live mode once (rohe.demo.closed_loop_live: real model processes, gateway, agent and
controller; 16 windows of 5 s per run, about four minutes in all); times are then wall-clock seconds from the
start of the first sustained violation, and the results go to benchmarks/results/control-live.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from rohe.demo.closed_loop import QUICK, Scenario, recovery, run_once

RESULTS = Path(__file__).resolve().parent / "results" / "control.json"
LIVE_RESULTS = RESULTS.with_name("control-live.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--live", action="store_true", help="once, on the live stack (real processes)")
    args = parser.parse_args()
    if args.live:
        live(quick=args.quick)
        return
    base, seeds = (QUICK, 2) if args.quick else (Scenario(), 5)
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rohe-bench-control-") as scratch:
        for seed in range(seeds):
            scenario = replace(base, seed=100 + seed)
            on = run_once(scenario, Path(scratch) / f"s{seed}", controller_on=True)
            off = run_once(scenario, Path(scratch) / f"s{seed}", controller_on=False)
            times = recovery(on)
            rows.append({
                "seed": scenario.seed, "to_action_min": times["to_action_min"],
                "to_recovery_min": times["to_recovery_min"],
                "off_to_recovery_min": recovery(off)["to_recovery_min"],
                "violation_min_on": on.violation_minutes, "violation_min_off": off.violation_minutes,
                "cost_on": on.cost, "cost_off": off.cost, "actions": len(on.decisions),
                "reconcile_ms_median": statistics.median(on.reconcile_s) * 1000,
                "reconcile_ms_max": max(on.reconcile_s) * 1000,
            })
    table = Table(title=f"closed loop, {'quick' if args.quick else 'full'} scenario ({base.windows} windows of "
                        f"{base.window_s:g} s), controller on vs off")
    for column in ("seed", "violation -> action (min)", "-> recovery (min)", "viol-min on", "viol-min off",
                   "avoided", "cost on", "cost off", "actions", "reconcile ms (median/max)"):
        table.add_column(column, justify="right")
    for r in rows:
        table.add_row(str(r["seed"]), _m(r["to_action_min"]), _m(r["to_recovery_min"]), f"{r['violation_min_on']:.2f}",
                      f"{r['violation_min_off']:.2f}", f"{r['violation_min_off'] - r['violation_min_on']:.2f}",
                      f"{r['cost_on']:.4f}", f"{r['cost_off']:.4f}", str(r["actions"]),
                      f"{r['reconcile_ms_median']:.0f}/{r['reconcile_ms_max']:.0f}")
    console = Console()
    console.print(table)
    load = os.getloadavg()
    console.print(f"wall {time.perf_counter() - started:.0f} s, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"scenario": {"windows": base.windows, "window_s": base.window_s,
                                                "base_rps": base.base_rps, "peak_rps": base.peak_rps},
                                   "rows": rows, "load_average": load, "machine": platform.platform()}, indent=2))


def live(quick: bool) -> None:
    from rohe.demo.closed_loop_live import QUICK_LIVE, LiveScenario, run_live_closed_loop

    scenario = QUICK_LIVE if quick else LiveScenario()
    console = Console(width=140)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rohe-bench-control-live-") as scratch:
        on, off = run_live_closed_loop(Path(scratch) / "out", Path(scratch) / "data", console, scenario=scenario)
    times = recovery(on)
    row = {"to_action_s": _s(times["to_action_min"]), "to_recovery_s": _s(times["to_recovery_min"]),
           "off_to_recovery_s": _s(recovery(off)["to_recovery_min"]),
           "violation_min_on": on.violation_minutes, "violation_min_off": off.violation_minutes,
           "cost_on": on.cost, "cost_off": off.cost, "actions": [d["action"]["kind"] for d in on.decisions],
           "max_replicas_on": max(sum(s.replicas.values()) for s in on.steps),
           "reconcile_ms_median": statistics.median(on.reconcile_s) * 1000 if on.reconcile_s else None}
    load = os.getloadavg()
    console.print(row)
    console.print(f"wall {time.perf_counter() - started:.0f} s, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    LIVE_RESULTS.parent.mkdir(parents=True, exist_ok=True)
    LIVE_RESULTS.write_text(json.dumps({"scenario": {k: v for k, v in vars(scenario).items()}, "result": row,
                                        "load_average": load, "machine": platform.platform()}, indent=2))


def _s(minutes: float | None) -> float | None:
    return None if minutes is None else round(minutes * 60, 1)


def _m(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


if __name__ == "__main__":
    main()
