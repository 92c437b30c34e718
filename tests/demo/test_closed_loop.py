"""`rohe demo --scenario closed-loop --quick`: the load outgrows the placement, the controller acts and the
contract holds again; the controller-off run stays violated; the report files are written."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from rohe.cli.demo import demo
from rohe.demo.closed_loop import QUICK, recovery, run_once

runner = CliRunner()


def test_controller_restores_the_contract_and_beats_controller_off(tmp_path: Path) -> None:
    on = run_once(QUICK, tmp_path, controller_on=True)
    off = run_once(QUICK, tmp_path, controller_on=False)
    assert [s.load_rps for s in on.steps] == [s.load_rps for s in off.steps]
    assert on.violation_minutes < off.violation_minutes
    kinds = [d["action"]["kind"] for d in on.decisions if d["status"] == "applied"]
    assert "scale-out" in kinds
    times = recovery(on)
    assert times["to_action_min"] is not None and times["to_recovery_min"] is not None
    peak = [s for s in on.steps if s.load_rps == QUICK.peak_rps]
    assert not peak[-1].violated and off.steps[peak[-1].index].violated  # holds at the end of the peak, off does not
    scaled = next(d for d in on.decisions if d["action"]["kind"] == "scale-out")
    assert scaled["observed"] is not None and scaled["expected"]["restores"]
    assert sum(on.steps[-1].replicas.values()) > sum(off.steps[-1].replicas.values())


def test_cli_scenario_writes_the_report_and_rejects_bad_options(tmp_path: Path) -> None:
    import typer

    app = typer.Typer()
    app.command()(demo)
    out = tmp_path / "out"
    result = runner.invoke(app, ["--scenario", "closed-loop", "--quick", "--controller", "off", "--out", str(out)])
    assert result.exit_code == 0, result.output
    body = json.loads((out / "closed-loop.json").read_text())
    assert [row["controller"] for row in body["summary"]] == ["off"]
    assert (out / "closed-loop.png").stat().st_size > 10_000 and (out / "closed-loop-timeline.csv").exists()
    bad = runner.invoke(app, ["--scenario", "loop"])
    assert bad.exit_code != 0 and "closed-loop" in bad.output and "Traceback" not in bad.output
