"""Ctrl-C in the middle of `rohe demo`: every process it started is stopped and the exit code says so."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest
from typer.testing import CliRunner

from rohe.cli.main import app


def test_ctrl_c_mid_demo_stops_everything_it_started(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import rohe.demo.stack

    def interrupted(*_: object, **__: object) -> None:
        # By now the platform is open and every replica process runs under the supervisor.
        assert [p for p in psutil.Process().children(recursive=True) if p.status() != psutil.STATUS_ZOMBIE]
        raise KeyboardInterrupt

    monkeypatch.setattr(rohe.demo.stack, "measure_catalog", interrupted)
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    result = CliRunner().invoke(app, ["demo", "--quick", "--out", str(workdir / "r"), "--data-dir", str(workdir / "d")])
    assert result.exit_code == 130, result.output
    assert "interrupted" in result.output
    leftovers = [p for p in psutil.Process().children(recursive=True) if p.pid not in before]
    assert [p for p in leftovers if p.status() != psutil.STATUS_ZOMBIE] == []
