"""`rohe demo --scenario closed-loop`: a load that outgrows its placement, with and without the controller.

The cluster (four Pi-class nodes, one NUC-class node) starts with the replicas the consumer's contract asks for
at its stated throughput (`rohe.orchestration.requirements`). The offered load then ramps to five times that,
holds, and falls back. Every window is served by the simulated plant (closed_loop_plant), stored in a real
observation store, judged by the real contract evaluator (violations with ranked causes) and, when the
controller is on, handed to the real adaptation controller, which acts on the real orchestration service
(scale, move, placement with the observed-load score) and on the simulated gateway's policy. The same load and
seeds run with the controller off; the report compares violation-minutes and replica cost.
"""

from __future__ import annotations

import csv
import itertools
import json
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from rohe.control import Controller, ControlSettings, GuardSettings, PlatformActuator, observed_cores
from rohe.core.contracts import ConsumerContract, parse_contract
from rohe.core.domain import Memory, Node, Service
from rohe.core.storage import Store
from rohe.demo.closed_loop_plant import Policy, demo_catalog, serve_window
from rohe.observation.evaluation import ContractEvaluator
from rohe.observation.store import ObservationStore
from rohe.orchestration.requirements import apply, derive, preferences
from rohe.orchestration.service import OrchestrationService

APP, RUN = "closed-loop", "demo"
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
TYPE_LABEL = "rohe.io/node-type"


@dataclass(frozen=True)
class Scenario:
    window_s: float = 10.0
    windows: int = 36
    base_rps: float = 8.0
    peak_rps: float = 40.0
    seed: int = 7

    def rate(self, index: int) -> float:
        """Steady, ramp over a sixth of the run, hold at the peak, then back to a quarter of it."""
        steady, ramp = self.windows // 6, max(1, self.windows // 6)
        if index < steady:
            return self.base_rps
        if index < steady + ramp:
            return self.base_rps + (self.peak_rps - self.base_rps) * (index - steady + 1) / ramp
        if index < self.windows - self.windows // 6:
            return self.peak_rps
        return self.peak_rps / 4


QUICK = Scenario(windows=18)


def contract() -> ConsumerContract:
    return parse_contract({
        "consumer": "inspection", "ensemble": {"min": 1, "max": 2}, "required_throughput": 8, "deadline_ms": 250,
        "models": ["rbf-svm", "random-forest"],
        "objectives": [{"metric": "accuracy", "direction": "maximize", "min": 0.9, "max": 1.0}],
        "constraints": [{"metric": "accuracy", "aggregate": "max", "min": 0.98}],
    })


def _cluster() -> list[Node]:
    def node(name: str, kind: str, cores: int) -> Node:
        return Node(name=name, labels={TYPE_LABEL: kind}, cores=[1000] * cores, memory=Memory(rss=8000, vms=16000))

    return [*(node(f"pi-{i}", "pi", 4) for i in range(1, 5)), node("nuc-1", "nuc", 8)]


@dataclass
class Step:
    index: int
    minute: float
    load_rps: float
    p99_ms: float | None
    accuracy: float | None
    replicas: dict[str, int]
    violated: bool
    late: bool  # the deadline clause is among the violations (what the load causes; accuracy dips are noise)
    actions: list[str] = field(default_factory=list)
    waiting: str = ""  # why the controller did nothing in this window (its conditions)
    answered: float | None = None  # share of requests answered (live mode: what an overloaded replica costs)


@dataclass
class RunResult:
    controller: bool
    steps: list[Step]
    decisions: list[dict[str, Any]]
    cost: float
    wall_s: float
    reconcile_s: list[float] = field(default_factory=list)

    @property
    def violation_minutes(self) -> float:
        return sum(1 for s in self.steps if s.violated) * (self.steps[1].minute - self.steps[0].minute if
                                                             len(self.steps) > 1 else 0.0)


def run_once(scenario: Scenario, data_dir: Path, controller_on: bool) -> RunResult:
    started = time.perf_counter()
    catalog, the_contract = demo_catalog(), contract()
    data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(f"sqlite:///{data_dir / ('on' if controller_on else 'off')}.db")
    store.upgrade()
    try:
        orchestration = OrchestrationService(store)
        orchestration.add_nodes(_cluster())
        services = [Service(name=f"svc-{m}", cpu=1000, memory=Memory(rss=300, vms=600), env={"ROHE_MODEL": m},
                            node_selector={TYPE_LABEL: "pi"}) for m in the_contract.models or ()]
        requirements = derive([the_contract], catalog, services, ("pi",))
        orchestration.add_services(apply(services, requirements))
        orchestration.place_queued()
        observations = ObservationStore(store)
        evaluator = ContractEvaluator({the_contract.consumer: the_contract}, sink=observations, profiles=catalog)
        policy, clock = Policy(), [T0.timestamp()]
        latest: list[Any] = []
        actuator = PlatformActuator(orchestration, policy, observed=lambda: observed_cores(latest),
                                    preferred=preferences(requirements))
        guard = GuardSettings(cooldown_s=3 * scenario.window_s, act_after=2, relax_after=3)
        controller = Controller(store, observations, orchestration, app=APP, run=RUN, contracts=[the_contract],
                                catalog=catalog, actuator=actuator, settings=ControlSettings(guard),
                                clock=lambda: clock[0])
        steps: list[Step] = []
        cost, timings = 0.0, []
        for i in range(scenario.windows):
            start = T0 + timedelta(seconds=i * scenario.window_s)
            served = serve_window(orchestration, catalog, the_contract, policy, app=APP, run=RUN, start=start,
                                  seconds=scenario.window_s, rate=scenario.rate(i), seed=scenario.seed + i)
            latest[:] = [served.window]
            evaluator.capacity = served.capacity
            observations.save_windows([served.window])
            violations = evaluator.evaluate(served.window)
            evaluator.publish(violations)
            clock[0] = served.window.end.timestamp()
            cost += served.cost
            window = served.window
            step = Step(i, (i + 1) * scenario.window_s / 60, scenario.rate(i),
                        window.end_to_end.p99_ms if window.end_to_end else None, window.accuracy, served.replicas,
                        bool(violations), any(v.metric.startswith("end_to_end.") for v in violations))
            if controller_on:
                tick = time.perf_counter()
                step.actions = [f"{r.action.text} [{r.status}]" for r in controller.reconcile()]
                timings.append(time.perf_counter() - tick)
                conditions = controller.status().get("consumers", {}).get(the_contract.consumer, [])
                step.waiting = "; ".join(f"{c['type']}: {c['reason']} {c['message']}".strip() for c in conditions
                                         if c["type"] not in ("ContractHolds", "Acted"))
            steps.append(step)
        decisions = [r.model_dump(mode="json") for r in controller.state.decisions()]
        return RunResult(controller_on, steps, decisions, cost, time.perf_counter() - started, timings)
    finally:
        store.close()


def recovery(result: RunResult) -> dict[str, float | None]:
    """From the first sustained deadline violation (two windows in a row: what the load causes; a lone window,
    or an accuracy dip of a few requests at low load, is noise the guard ignores): minutes to the first action,
    and to the first window that meets the deadline again after that action."""
    steps = result.steps
    first = next((a for a, b in itertools.pairwise(steps) if a.late and b.late), None)
    if first is None:
        return {"to_action_min": None, "to_recovery_min": None}
    acted = next((s for s in steps if s.index >= first.index and s.actions), None)
    after = acted.index if acted is not None else first.index
    healed = next((s for s in steps if s.index > after and not s.late), None)
    start = first.minute - (steps[1].minute - steps[0].minute)  # the window's start, not its end
    return {"to_action_min": acted.minute - start if acted else None,
            "to_recovery_min": healed.minute - start if healed else None}


def _timeline(result: RunResult, deadline: float, floor: float) -> Table:
    table = Table(title=f"closed loop, controller {'on' if result.controller else 'off'}: timeline")
    live = any(s.answered is not None for s in result.steps)
    middle = "answered %" if live else f"accuracy (>= {floor:g})"
    for column in ("min", "load req/s", f"p99 ms (<= {deadline:g})", middle, "replicas", "actions"):
        table.add_column(column, overflow="fold")
    for s in result.steps:
        p99 = "-" if s.p99_ms is None else f"{s.p99_ms:.0f}"
        shown = f"[red]{p99}[/]" if s.violated else p99
        replicas = " ".join(f"{k.removeprefix('svc-')}={v}" for k, v in sorted(s.replicas.items()))
        if live:
            value = "-" if s.answered is None else f"{100 * s.answered:.1f}"
        else:
            value = "-" if s.accuracy is None else f"{s.accuracy:.3f}"
        table.add_row(f"{s.minute:.2f}" if live else f"{s.minute:.1f}", f"{s.load_rps:.0f}", shown, value, replicas,
                      "; ".join(s.actions))
    return table


def _plot(results: list[RunResult], deadline: float, floor: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(4, 1, figsize=(10, 10), sharex=True)
    for result in results:
        label = f"controller {'on' if result.controller else 'off'}"
        minutes = [s.minute for s in result.steps]
        axes[1].plot(minutes, [s.p99_ms or float("nan") for s in result.steps], marker=".", label=label)
        third = [s.answered if s.answered is not None else (s.accuracy or float("nan")) for s in result.steps]
        axes[2].plot(minutes, third, marker=".", label=label)
        axes[3].step(minutes, [sum(s.replicas.values()) for s in result.steps], where="post", label=label)
        if result.controller:
            for s in result.steps:
                for action in s.actions:
                    axes[3].annotate(action.split(" ")[0], (s.minute, sum(s.replicas.values())), fontsize=7,
                                     rotation=30)
    first = results[0]
    axes[0].plot([s.minute for s in first.steps], [s.load_rps for s in first.steps], color="black")
    axes[0].set_ylabel("load (req/s)")
    axes[1].axhline(deadline, color="red", linestyle="--", label="deadline")
    axes[1].set_yscale("log")
    axes[1].set_ylabel("p99 (ms)")
    axes[2].axhline(floor, color="red", linestyle="--", label="floor")
    axes[2].set_ylabel("answered" if any(s.answered is not None for s in first.steps) else "accuracy")
    axes[3].set_ylabel("replicas")
    axes[3].set_xlabel("minutes")
    for axis in axes[1:]:
        axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def run_closed_loop(out: Path, data_dir: Path, console: Console, *, quick: bool = False,
                    controller: bool = True) -> list[RunResult]:
    scenario = QUICK if quick else Scenario()
    the_contract = contract()
    modes = [True, False] if controller else [False]
    results = [run_once(scenario, data_dir, mode) for mode in modes]
    write_report(results, asdict(scenario), out, console, float(the_contract.deadline_ms or 0), 0.98)
    return results


def write_report(results: list[RunResult], scenario: dict[str, Any], out: Path, console: Console, deadline: float,
                 floor: float) -> None:
    """Timelines, the on/off summary, closed-loop.png/.json and the timeline CSV (simulated and live modes)."""
    out.mkdir(parents=True, exist_ok=True)
    for result in results:
        console.print(_timeline(result, deadline, floor))
    summary = Table(title="closed loop: with vs without the controller")
    for column in ("controller", "violation-minutes", "replica cost", "actions", "first violation -> action (min)",
                   "-> recovery (min)"):
        summary.add_column(column)
    rows = []
    for result in results:
        times = recovery(result)
        name = "on" if result.controller else "off"
        row = {"controller": name, "violation_minutes": result.violation_minutes,
               "cost": result.cost, "actions": len(result.decisions), **times}
        rows.append(row)
        summary.add_row(name, f"{result.violation_minutes:.2f}", f"{result.cost:.4f}",
                        str(row["actions"]), _minutes(times["to_action_min"]), _minutes(times["to_recovery_min"]))
    console.print(summary)
    _plot(results, deadline, floor, out / "closed-loop.png")
    with (out / "closed-loop-timeline.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["controller", "minute", "load_rps", "p99_ms", "accuracy", "replicas", "violated", "actions",
                         "answered"])
        for result in results:
            for s in result.steps:
                writer.writerow(["on" if result.controller else "off", s.minute, s.load_rps, s.p99_ms, s.accuracy,
                                 sum(s.replicas.values()), s.violated, "; ".join(s.actions), s.answered])
    body = {"scenario": scenario, "summary": rows,
            "runs": [{"controller": r.controller, "steps": [asdict(s) for s in r.steps], "decisions": r.decisions}
                     for r in results]}
    (out / "closed-loop.json").write_text(json.dumps(body, indent=2, default=str))
    console.print(f"report: {out / 'closed-loop.png'}, {out / 'closed-loop.json'}, {out / 'closed-loop-timeline.csv'}")


def _minutes(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
