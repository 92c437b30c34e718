"""`rohe experiment run`: every (arm, repetition) as a job in worker processes, resumable per arm.

Jobs run in a ProcessPoolExecutor bounded by the CPU count (and `workers`); one job runs in-process. When
all repetitions of an arm are in, its rows go to `arms/<arm>.csv` and then `arms/<arm>.json` (the marker,
written last, carrying the spec hash). A rerun with the same spec skips every arm whose marker has that
hash, so an interrupted experiment continues where it stopped; a changed spec reruns everything. The spec
as run and the code version are written next to the rows; the report is then rebuilt from stored rows.
Live jobs run one at a time in this process against the one gateway of the `LiveTarget` (live.py).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from rohe import __version__
from rohe.core.errors import InvalidInput, Problem, RoheError
from rohe.experiments.backends import Job, run_job
from rohe.experiments.calibration import Calibration
from rohe.experiments.replay import RECORDED, recorded_rows
from rohe.experiments.report import write_outputs
from rohe.experiments.rows import Row, read_rows, write_rows
from rohe.experiments.spec import Arm, Spec, expand_arms, resolve_path
from rohe.experiments.stats import PairedResult
from rohe.experiments.summary import ArmSummary
from rohe.experiments.traces import read_traces

if TYPE_CHECKING:
    from rohe.experiments.live import LiveTarget

ARMS_DIR = "arms"
SPEC_FILE = "spec.yaml"
VERSION_FILE = "version.json"

Progress = Callable[[str, int, int], None]  # arm, finished repetitions, total


@dataclass
class ExperimentResult:
    out: Path
    summaries: list[ArmSummary]
    tests: list[PairedResult]
    ran: list[str]
    skipped: list[str]


def code_version() -> dict[str, Any]:
    here = Path(__file__).resolve().parent
    info: dict[str, Any] = {"rohe": __version__, "python": platform.python_version()}
    try:
        commit = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(here), "status", "--porcelain", "--", "."], capture_output=True, text=True, timeout=5
        ).stdout.strip()
        info.update(commit=commit, dirty=bool(dirty))
    except (OSError, subprocess.SubprocessError):
        info["commit"] = None  # an installed wheel: the version number is all there is
    return info


def _marker(out: Path, arm: Arm) -> Path:
    return out / ARMS_DIR / f"{arm.slug}.json"


def finished(out: Path, arm: Arm, spec_hash: str) -> bool:
    marker = _marker(out, arm)
    if not marker.is_file() or not (out / ARMS_DIR / f"{arm.slug}.csv").is_file():
        return False
    try:
        return bool(json.loads(marker.read_text(encoding="utf-8")).get("spec_hash") == spec_hash)
    except (OSError, ValueError):
        return False


def _store_arm(out: Path, arm: Arm, rows: list[Row], spec_hash: str, wall_s: float) -> None:
    folder = out / ARMS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    write_rows(rows, folder / f"{arm.slug}.csv")
    body = {"arm": arm.name, "spec_hash": spec_hash, "rows": len(rows), "wall_s": wall_s}
    temporary = folder / f"{arm.slug}.json.tmp"
    temporary.write_text(json.dumps(body) + "\n", encoding="utf-8")
    temporary.replace(_marker(out, arm))


def _calibrate(spec: Spec, base: Path) -> tuple[Calibration, list[Row]]:
    from rohe.experiments.calibration import calibrate

    assert spec.traces.path is not None
    runs = read_traces(resolve_path(spec.traces.path, base))
    chosen = next((r for r in runs if r.name == spec.traces.base), runs[0])
    calibration = calibrate(runs, chosen, spec.seed)
    recorded = [row for run in runs for row in recorded_rows(run, calibration)]
    return calibration, recorded


def _check_names(spec: Spec) -> None:
    """Unknown scheduler or placement names fail before any arm runs."""
    from rohe.orchestration.placement import get_algorithm
    from rohe.serving.scheduling import get_scheduler

    for i, name in enumerate(spec.arms.scheduler):
        try:
            get_scheduler(name)
        except RoheError as exc:
            raise type(exc)(exc.message, [replace(p, location=f"arms.scheduler[{i}]") for p in exc.problems]) from None
    if spec.backend == "simulate":
        for i, name in enumerate(spec.arms.placement):
            try:
                get_algorithm(name, None)
            except RoheError as exc:
                problems = [replace(p, location=f"arms.placement[{i}]") for p in exc.problems]
                raise type(exc)(exc.message, problems) from None


def run_experiment(
    spec: Spec,
    base: Path,
    out: Path,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
    target: LiveTarget | None = None,
) -> ExperimentResult:
    """Run the spec's unfinished arms; `target` is the gateway a live spec sends to."""
    if spec.backend == "live":
        from rohe.experiments.live import check_live, check_spec, needs_gateway

        check_spec(spec)
        _check_names(spec)
        if target is None:
            raise needs_gateway()
        target = check_live(spec, base, target)
    out.mkdir(parents=True, exist_ok=True)
    (out / SPEC_FILE).write_text(yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False), encoding="utf-8")
    (out / VERSION_FILE).write_text(json.dumps(code_version(), indent=2) + "\n", encoding="utf-8")
    arms = expand_arms(spec)
    _check_names(spec)
    spec_hash = spec.spec_hash()
    todo = [a for a in arms if not finished(out, a, spec_hash)]
    skipped = [a.name for a in arms if a not in todo]
    calibration, recorded = _calibrate(spec, base) if spec.backend == "replay" else (None, [])
    baseline = spec.baseline or (f"{RECORDED}{spec.traces.base}" if spec.traces.base and recorded else None)
    known = [*dict.fromkeys(r.arm for r in recorded), *(a.name for a in arms)]
    if baseline is not None and baseline not in known:
        raise InvalidInput(
            "unknown baseline arm", [Problem("baseline", f"{baseline!r} is no arm", f"use one of: {', '.join(known)}")]
        )
    jobs = [Job(spec, base, arm, r, calibration) for arm in todo for r in range(spec.repetitions)]
    collected: dict[str, list[list[Row]]] = {a.name: [] for a in todo}
    started = {a.name: time.perf_counter() for a in todo}
    by_name = {a.name: a for a in todo}
    for name in skipped:
        if progress:
            progress(name, spec.repetitions, spec.repetitions)

    def accept(job: Job, rows: list[Row]) -> None:
        done = collected[job.arm.name]
        done.append(rows)
        if progress:
            progress(job.arm.name, len(done), spec.repetitions)
        if len(done) == spec.repetitions:
            ordered = sorted((row for part in done for row in part), key=lambda r: r.repetition)
            _store_arm(out, by_name[job.arm.name], ordered, spec_hash, time.perf_counter() - started[job.arm.name])

    limit = max(1, min(workers or os.cpu_count() or 1, os.cpu_count() or 1, len(jobs)))
    if spec.backend == "live":
        from rohe.experiments.live import run_live

        assert target is not None  # checked on entry
        for job in jobs:
            accept(job, run_live(job, target, out))
    elif limit == 1:
        for job in jobs:
            accept(job, run_job(job))
    else:
        with ProcessPoolExecutor(max_workers=limit) as pool:
            futures: dict[Future[list[Row]], Job] = {pool.submit(run_job, job): job for job in jobs}
            pending = set(futures)
            while pending:
                done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for future in done:
                    error = future.exception()
                    if error is not None:
                        for other in pending:
                            other.cancel()
                        raise error
                    accept(futures[future], future.result())
    rows = list(recorded)
    for arm in arms:
        rows.extend(read_rows(out / ARMS_DIR / f"{arm.slug}.csv"))
    extra: dict[str, Any] = {"spec_hash": spec_hash, "backend": spec.backend, "version": code_version()}
    if calibration is not None:
        extra["calibration_notes"] = calibration.notes
    summaries, tests = write_outputs(rows, out, spec.name, baseline=baseline, seed=spec.seed, extra=extra)
    return ExperimentResult(out, summaries, tests, [a.name for a in todo], skipped)
