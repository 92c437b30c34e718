"""`rohe experiment ...`: replay recorded traces, run experiment specs, compare stored results, ask what-if.

Heavy imports (NumPy, SciPy, matplotlib, the simulator) stay inside the commands so `rohe --help` is fast.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from rohe.cli.errors import handle_errors
from rohe.demo.signals import Terminated

if TYPE_CHECKING:
    from rohe.experiments.figures import RunFigures
    from rohe.experiments.live import LiveTarget
    from rohe.experiments.runner import ExperimentResult
    from rohe.experiments.spec import Spec
    from rohe.experiments.stats import PairedResult
    from rohe.experiments.summary import ArmSummary

app = typer.Typer(help="Experiments: replay traces, run specs, compare results, what-if.", no_args_is_help=True)
console = Console()
if not console.is_terminal:
    # Piped into a file or CI log nothing limits the width; rich's 80-column guess would cut arm names and CIs.
    console.width = 160

Out = Annotated[Path, typer.Option("--out", help="folder for rows, summary, tables and plots")]


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _ci(mean: float, low: float, high: float, digits: int = 3) -> str:
    return "-" if math.isnan(mean) else f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def figures_table(figures: Sequence[RunFigures]) -> Table:
    table = Table(title="recorded runs, recomputed from their files", caption="accuracy: served == feedback")
    for column in ("arm", "queries", "late ratio", "labelled", "accuracy", "trust", "members/q", "skipped/unjoined"):
        table.add_column(column, justify="left" if column == "arm" else "right", no_wrap=True)
    for f in figures:
        table.add_row(
            f.arm,
            str(f.queries),
            _num(f.late_ratio),
            str(f.labelled),
            _num(f.accuracy),
            "yes" if f.accuracy_trustworthy else "[red]NO[/]",
            _num(f.members_mean, 2),
            str(f.issues.get("total", 0)),
        )
    return table


def summary_table(title: str, summaries: Sequence[ArmSummary]) -> Table:
    table = Table(title=title, caption="mean [95% bootstrap CI] over queries")
    for column in ("arm", "queries", "late ratio", "accuracy", "members", "cost", "p99 ms"):
        table.add_column(column, justify="left" if column == "arm" else "right", no_wrap=True)
    for s in summaries:
        table.add_row(
            s.arm,
            str(s.queries),
            _ci(s.late_ratio, s.late_ci_low, s.late_ci_high),
            _ci(s.accuracy, s.accuracy_ci_low, s.accuracy_ci_high),
            _num(s.members_mean, 2),
            _num(s.cost_mean, 6),
            _num(1000 * s.latency_p99_s, 1),
        )
    return table


def tests_table(tests: Sequence[PairedResult], limit: int = 30) -> Table:
    shown = [t for t in tests if t.metric in ("late", "correct")][:limit]
    table = Table(
        title="paired on identical queries (late, correct; all metrics in paired.csv)",
        caption="difference = arm - baseline; p after Holm over all tests",
    )
    for column in ("baseline", "arm", "metric", "pairs", "difference [95% CI]", "p (Holm)"):
        table.add_column(column, no_wrap=True)
    for t in shown:
        table.add_row(
            t.arm_a, t.arm_b, t.metric, str(t.pairs), _ci(t.difference, t.ci_low, t.ci_high, 4), _num(t.p_holm, 4)
        )
    return table


def _print_issues(figures: Sequence[RunFigures]) -> None:
    for f in figures:
        for warning in f.accuracy_warnings:
            console.print(f"[yellow]{f.arm}: accuracy not trustworthy:[/] {warning}", highlight=False)
        counts = f.issues.get("counts", {})
        if isinstance(counts, dict):
            for reason, count in counts.items():
                console.print(f"[dim]{f.arm}: {count} x {reason}[/]", highlight=False)


@app.command("replay")
@handle_errors
def replay(
    traces: Annotated[Path, typer.Argument(help="a run folder, or a comparison folder whose sub-folders are arms")],
    out: Out = Path("reports/replay"),
    base: Annotated[str | None, typer.Option("--base", help="arm whose queries are replayed; default first")] = None,
    scheduler: Annotated[list[str] | None, typer.Option("--scheduler", help="repeatable; default: every one")] = None,
    contract: Annotated[Path | None, typer.Option("--contract", help="contract to plan with; default derived")] = None,
    repetitions: Annotated[int, typer.Option("--repetitions", min=1)] = 1,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    counterfactual: Annotated[bool, typer.Option("--counterfactual/--figures-only")] = True,
) -> None:
    """Recompute each recorded run's figures; then replay the same queries under every scheduler."""
    from rohe.core.contracts import load_contract
    from rohe.experiments.figures import run_figures, write_figures
    from rohe.experiments.replay import RECORDED, replay_schedulers
    from rohe.experiments.replay import counterfactual as replay_all
    from rohe.experiments.report import write_outputs
    from rohe.experiments.runner import code_version
    from rohe.experiments.traces import read_traces

    runs = read_traces(traces)
    if not counterfactual:
        figures = [run_figures(r) for r in runs]
        write_figures(figures, out)
        console.print(figures_table(figures))
        _print_issues(figures)
        console.print(f"wrote {out}")
        return
    result = replay_all(
        runs,
        base,
        scheduler or replay_schedulers(),
        contract=load_contract(contract) if contract else None,
        seed=seed,
        repetitions=repetitions,
    )
    write_figures(result.figures, out)
    console.print(figures_table(result.figures))
    _print_issues(result.figures)
    extra = {
        "traces": str(traces),
        "base": result.base,
        "contract": result.contract.model_dump(mode="json"),
        "calibration_notes": result.calibration.notes,
        "version": code_version(),
    }
    summaries, tests = write_outputs(
        result.rows, out, f"replay of {traces.name}", baseline=f"{RECORDED}{result.base}", seed=seed, extra=extra
    )
    console.print(
        summary_table(f"counterfactual replay of {result.base}'s {len(result.calibration.queries)} queries", summaries)
    )
    console.print(tests_table(tests))
    for note in result.calibration.notes:
        console.print(f"[dim]calibration: {note}[/]", highlight=False)
    console.print(f"wrote {out}")


@app.command("run")
@handle_errors
def run(
    spec: Annotated[Path, typer.Argument(help="experiment spec YAML (package:experiments/specs/<name>.yaml ships)")],
    out: Out = Path("reports/experiment"),
    set_: Annotated[list[str] | None, typer.Option("--set", help="override: dotted.key=value (YAML)")] = None,
    traces: Annotated[Path | None, typer.Option("--traces", help="traces folder for replay specs")] = None,
    workers: Annotated[int | None, typer.Option("--workers", min=1, help="parallel processes; default cores")] = None,
    backend: Annotated[str | None, typer.Option("--backend", help="simulate | replay | live (sets `backend`)")] = None,
    gateway: Annotated[str | None, typer.Option("--gateway", help="live: a running gateway's URL")] = None,
    app_name: Annotated[
        str | None, typer.Option("--app", help="live: example app started locally (or whose inputs are sent)")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="live --app: keep its models here; default a temporary folder")
    ] = None,
) -> None:
    """Run every arm of a spec (in parallel, resumable) and write rows, summary, tests, plots, table."""
    import contextlib
    import tempfile

    from rohe.experiments.spec import load_spec

    overrides = list(set_ or [])
    if traces is not None:
        overrides.append(f"traces.path={traces.resolve()}")
    for key, value in (("backend", backend), ("live.gateway_url", gateway), ("live.app", app_name)):
        if value is not None:
            overrides.append(f"{key}={value}")
    loaded, base = load_spec(spec, overrides)
    if loaded.backend != "live" and (gateway or app_name):
        from rohe.core.errors import InvalidInput, Problem

        option = "--gateway" if gateway else "--app"
        raise InvalidInput(
            f"{option} is for the live backend",
            [Problem(option, f"the spec's backend is {loaded.backend}", "add --backend live")],
        )
    try:
        with contextlib.ExitStack() as stack:
            target = None
            if loaded.backend == "live":
                from rohe.demo.live import live_target
                from rohe.demo.signals import stop_signals
                from rohe.experiments.live import check_spec

                check_spec(loaded)  # before an app is started for nothing
                if loaded.live.gateway_url is None:  # SIGTERM must unwind to stop the app's processes
                    stack.enter_context(stop_signals())
                scratch = data_dir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rohe-live-")))
                target = stack.enter_context(live_target(loaded, scratch, out / "stack", console))
            result = _run_with_progress(loaded, base, out, workers, target)
    except KeyboardInterrupt as stopped:
        # Everything started for the run is stopped by now; finished arms are stored and a rerun continues.
        console.print(f"[yellow]{str(stopped) or 'interrupted'}: finished arms are in {out}; rerun to continue[/]")
        raise typer.Exit(143 if isinstance(stopped, Terminated) else 130) from None
    console.print(summary_table(loaded.name, result.summaries))
    console.print(tests_table(result.tests))
    if result.skipped:
        console.print(f"{len(result.skipped)} arms already finished with this spec were not rerun")
    console.print(f"wrote {out}")


def _run_with_progress(
    loaded: Spec, base: Path, out: Path, workers: int | None, target: LiveTarget | None
) -> ExperimentResult:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from rohe.experiments.runner import run_experiment
    from rohe.experiments.spec import expand_arms

    arms = expand_arms(loaded)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        overall = progress.add_task(f"{loaded.name}: arms", total=len(arms))
        tasks = {a.name: progress.add_task(f"  {a.name}", total=loaded.repetitions) for a in arms}

        def report(arm: str, done: int, total: int) -> None:
            progress.update(tasks[arm], completed=done)
            if done == total:
                progress.advance(overall)

        return run_experiment(loaded, base, out, workers=workers, progress=report, target=target)


@app.command("compare")
@handle_errors
def compare(
    first: Annotated[Path, typer.Argument(help="an experiment output folder")],
    second: Annotated[Path, typer.Argument(help="another one")],
    out: Annotated[Path | None, typer.Option("--out", help="also write summary/paired CSV+JSON here")] = None,
) -> None:
    """Compare two stored experiments from their rows (nothing is rerun)."""
    import json
    from dataclasses import asdict

    from rohe.experiments.compare import compare_dirs
    from rohe.experiments.summary import markdown

    summaries, tests = compare_dirs(first, second)
    console.print(summary_table(f"{first} vs {second}", summaries))
    console.print(tests_table(tests))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "compare.md").write_text(markdown(summaries, tests), encoding="utf-8")
        body = {"arms": [asdict(s) for s in summaries], "paired": [asdict(t) for t in tests]}
        (out / "compare.json").write_text(json.dumps(body, indent=2, default=str) + "\n", encoding="utf-8")
        console.print(f"wrote {out}")


@app.command("whatif")
@handle_errors
def whatif(
    app_name: Annotated[str, typer.Option("--app", help="observed application")],
    window: Annotated[str, typer.Option("--window", help="how far back from the newest window, e.g. 10m")],
    contract: Annotated[Path, typer.Option("--contract", help="the consumer's contract file")],
    scheduler: Annotated[str, typer.Option("--scheduler", help="scheduler to replay with")] = "adaptive",
    placement: Annotated[str | None, typer.Option("--placement", help="placement algorithm (queueing on)")] = None,
    nodes: Annotated[int, typer.Option("--nodes", min=1, help="synthetic nodes for --placement")] = 1,
    run_name: Annotated[str | None, typer.Option("--run", help="app run; default every run")] = None,
    db: Annotated[str | None, typer.Option("--db", help="database URL; default the configured store")] = None,
    seed: Annotated[int, typer.Option("--seed")] = 0,
) -> None:
    """Replay a stored observation window under another scheduler/placement: would the contract have held?"""
    from rohe.core.config import load_settings
    from rohe.core.contracts import load_contract, window_seconds
    from rohe.core.errors import InvalidInput, Problem
    from rohe.experiments.whatif import whatif as replay_window
    from rohe.observation.store import ObservationStore

    try:
        seconds = window_seconds(window)
    except ValueError as exc:
        raise InvalidInput("bad window", [Problem("--window", str(exc), "e.g. 30s, 10m, 1h")]) from None
    store = ObservationStore(db or load_settings().resolved_database_url)
    try:
        result = replay_window(
            store,
            app_name,
            seconds,
            load_contract(contract),
            scheduler,
            run=run_name,
            placement=placement,
            nodes=nodes,
            seed=seed,
        )
    finally:
        store.close()
    s = result.simulated
    console.print(
        f"{result.app} / {result.consumer}: {result.windows} windows, {result.requests} requests over "
        f"{result.seconds:.0f} s; observed p99 {_num(result.observed_p99_ms, 1)} ms, accuracy "
        f"{_num(result.observed_accuracy)}",
        highlight=False,
    )
    console.print(summary_table(f"replayed under {scheduler}" + (f" / {placement}" if placement else ""), [s]))
    table = Table(title="contract clauses")
    for column in ("clause", "replayed", "limit", "holds"):
        table.add_column(column)
    for c in result.checks:
        verdict = "unknown" if c.holds is None else "[green]yes[/]" if c.holds else "[red]no[/]"
        table.add_row(c.clause, _num(c.value, 3), _num(c.limit, 3), verdict)
    console.print(table)
    if not result.accuracy_known:
        console.print("[yellow]the window carries no accuracy: accuracy figures are not judged[/]")
    word = "would have held" if result.holds else "would NOT have held"
    console.print(f"the contract {word} under {scheduler}" + (f" with {placement}" if placement else ""))


@app.command("specs")
def specs() -> None:
    """List the experiment specs shipped with rohe."""
    from rohe.experiments.spec import shipped_specs

    for path in shipped_specs():
        console.print(f"package:experiments/specs/{path.name}", highlight=False)
