"""Time the CLI's start: every command's `--help` (and `rohe version`) in a fresh process, N times each.

    .venv/bin/python benchmarks/cli_start.py            # 5 runs per command
    .venv/bin/python benchmarks/cli_start.py --runs 10

Each run is `python -m rohe.cli.main <args>` in a new interpreter, so the figure is what a user waits for:
interpreter start, imports, Typer, the help text. Targets: `rohe --help` and `rohe version` under 0.5 s, any
command's `--help` under 1 s. The table shows the median and the slowest run per command, wall and CPU
(user + system of the child: on a loaded machine wall time includes waiting for a core, CPU time does not).
Output: a Rich table and benchmarks/results/cli_start.json, with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

SRC = Path(__file__).resolve().parents[1] / "src"
RESULTS = Path(__file__).resolve().parent / "results" / "cli_start.json"
COMMANDS: tuple[tuple[str, ...], ...] = (
    ("--help",),
    ("version",),
    ("demo", "--help"),
    ("profile", "--help"),
    ("loadgen", "--help"),
    ("start", "--help"),
    ("start", "serving-service", "--help"),
    ("orchestration", "--help"),
    ("orchestration", "deploy", "--help"),
    ("observation", "--help"),
    ("observation", "windows", "--help"),
)
TARGETS = {("--help",): 0.5, ("version",): 0.5}
DEFAULT_TARGET = 1.0


def run_once(args: tuple[str, ...]) -> tuple[float, float]:
    """Wall and CPU seconds of one fresh `python -m rohe.cli.main ARGS`."""
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", "COLUMNS": "100"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "rohe.cli.main", *args], capture_output=True, env=env, timeout=120)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"rohe {' '.join(args)} failed: {done.stderr.decode()[-500:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = max(1, parser.parse_args().runs)
    console = Console()
    if not console.is_terminal:
        console.width = 120  # piped into a log: rich's 80-column guess would wrap the command names
    rows = []
    for args in COMMANDS:
        samples = [run_once(args) for _ in range(runs)]
        walls = [w for w, _ in samples]
        cpus = [c for _, c in samples]
        target = TARGETS.get(args, DEFAULT_TARGET)
        rows.append(
            {
                "command": "rohe " + " ".join(args),
                "runs": runs,
                "wall_median_s": statistics.median(walls),
                "wall_max_s": max(walls),
                "cpu_median_s": statistics.median(cpus),
                "target_s": target,
                "met_wall": statistics.median(walls) < target,
                "met_cpu": statistics.median(cpus) < target,
            }
        )
    table = Table(title=f"CLI start, {runs} fresh process(es) per command")
    for column in ("command", "wall median s", "wall max s", "cpu median s", "target s", "met (wall / cpu)"):
        table.add_column(column, justify="left" if column == "command" else "right", no_wrap=True)
    for row in rows:
        met = f"{'yes' if row['met_wall'] else 'no'} / {'yes' if row['met_cpu'] else 'no'}"
        table.add_row(row["command"], f"{row['wall_median_s']:.2f}", f"{row['wall_max_s']:.2f}",
                      f"{row['cpu_median_s']:.2f}", f"{row['target_s']:.1f}", met)
    load = os.getloadavg()
    console.print(table)
    console.print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "benchmark": "cli_start",
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average": load,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "rows": rows,
    }
    RESULTS.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    console.print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
