"""`rohe demo --scenario closed-loop --live`, in its shortest real form: real model processes placed by the
orchestration service, a gateway following the placements over HTTP, the observation agent, the controller.
Windows of 3 s: with the controller on, a load that outgrows one replica is violated, the controller scales
out, the new process gets traffic and the contract holds again; with it off, the same load stays violated."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import psutil
import pytest
from rich.console import Console
from typer.testing import CliRunner

from rohe.cli.demo import demo
from rohe.demo.closed_loop import recovery
from rohe.demo.closed_loop_live import LiveScenario, run_live_once
from rohe.demo.live_stack import live_contract, live_stack

SHORT = LiveScenario(window_s=3.0, windows=8, steady=1, ramp=1, tail=0)


@pytest.mark.slow
def test_live_controller_scales_out_and_recovers_while_off_stays_violated(tmp_path: Path) -> None:
    console = Console(file=io.StringIO(), width=150)
    contract = live_contract(SHORT.stated * SHORT.capacity.rps, SHORT.deadline_ms, SHORT.availability)
    with live_stack(tmp_path / "data", tmp_path / "out", console, SHORT.capacity, contract) as stack:
        on = run_live_once(stack, SHORT, True, console)
        off = run_live_once(stack, replace(SHORT, windows=4), False, console)
        pids = [p.pid for p in stack.rollout.deployer.status()]
    output = console.file.getvalue()  # type: ignore[attr-defined]
    assert len(on.steps) >= 6 and len(off.steps) >= 3, output
    # Off: every window at the high load (after the first two) breaks the contract, nothing is done.
    assert all(s.late for s in off.steps[2:]) and not off.decisions, output
    assert {sum(s.replicas.values()) for s in off.steps} == {1}
    # On: violated, then a scale-out through the orchestration service, then a window that holds again.
    applied = [d for d in on.decisions if d["status"] == "applied"]
    assert applied and applied[0]["action"]["kind"] == "scale-out", output
    times = recovery(on)
    assert times["to_action_min"] is not None and times["to_recovery_min"] is not None, output
    acted = next(s for s in on.steps if s.actions)
    after = on.steps[acted.index + 1:]
    assert max(sum(s.replicas.values()) for s in after) >= 2
    # The new process took traffic without a gateway restart: one replica cannot answer this many per second.
    answered = [s.load_rps * (s.answered or 0.0) for s in after]
    assert max(answered) > 1.2 * SHORT.capacity.rps, (answered, output)
    assert on.violation_minutes < off.violation_minutes * 8 / 4  # off ran 4 windows, on 8
    # Every replica process the run started is gone.
    assert pids and not any(_alive(pid) for pid in pids)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_live_is_refused_outside_the_closed_loop_scenario(tmp_path: Path) -> None:
    import typer

    app = typer.Typer()
    app.command()(demo)
    result = CliRunner().invoke(app, ["--live", "--out", str(tmp_path / "out")])
    assert result.exit_code != 0 and "--scenario closed-loop" in result.output and "Traceback" not in result.output
