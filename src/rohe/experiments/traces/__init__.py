"""Recorded runs read into one shape: the IoT-journal traces and rohe's own requests.csv, and arm discovery.

A TRACES path is one run folder (it holds the files), one arm folder (`<arm>/run_N/`), or a comparison folder
whose sub-folders are the arms (`<arm>/run_N/` or `<arm>/` holding the files). Each arm is named by its
folder; an arm with several runs gives one `<arm>/run_N` per run.
"""

from __future__ import annotations

from pathlib import Path

from rohe.core.errors import InvalidInput, Problem
from rohe.experiments.traces.iot_journal import is_iot_journal_run, read_iot_journal_run, top_class
from rohe.experiments.traces.issues import Issues
from rohe.experiments.traces.model import TraceMember, TraceQuery, TraceRun
from rohe.experiments.traces.rohe_runs import is_rohe_run, read_rohe_run

__all__ = [
    "Issues",
    "TraceMember",
    "TraceQuery",
    "TraceRun",
    "discover_runs",
    "is_run_folder",
    "read_run",
    "read_traces",
    "top_class",
]


def is_run_folder(folder: Path) -> bool:
    return is_iot_journal_run(folder) or is_rohe_run(folder)


def read_run(folder: Path, name: str | None = None) -> TraceRun:
    if is_iot_journal_run(folder):
        return read_iot_journal_run(folder, name)
    if is_rohe_run(folder):
        return read_rohe_run(folder, name)
    raise InvalidInput(
        "not a run folder",
        [Problem(str(folder), "holds neither inference_report.csv nor requests.csv", "point at a run folder")],
    )


def discover_runs(path: Path) -> list[tuple[str, Path]]:
    """(arm name, run folder) pairs, sorted by arm then run. Arms with several runs keep `arm/run_N` names."""
    if not path.is_dir():
        raise InvalidInput("no such traces folder", [Problem(str(path), "is not a directory", "check the path")])
    if is_run_folder(path):
        return [(path.name, path)]
    own_runs = sorted(p for p in path.iterdir() if p.is_dir() and p.name.startswith("run_") and is_run_folder(p))
    if own_runs:  # an arm folder (`<orchestrator>/run_N/`): the arm is the folder itself
        return [(path.name if len(own_runs) == 1 else f"{path.name}/{r.name}", r) for r in own_runs]
    found: list[tuple[str, Path]] = []
    for arm in sorted(p for p in path.iterdir() if p.is_dir()):
        if is_run_folder(arm):
            found.append((arm.name, arm))
            continue
        runs = sorted(p for p in arm.iterdir() if p.is_dir() and is_run_folder(p))
        for run in runs:
            found.append((arm.name if len(runs) == 1 else f"{arm.name}/{run.name}", run))
    if not found:
        raise InvalidInput(
            "no runs found",
            [Problem(str(path), "no run folder in it or one level below its arms", "give a run or comparison folder")],
        )
    return found


def read_traces(path: Path) -> list[TraceRun]:
    return [read_run(folder, name) for name, folder in discover_runs(path)]
