"""`rohe loadgen URL PROFILE`: a profile file in, a report folder out; a bad profile is a clear error."""

from __future__ import annotations

import csv
from pathlib import Path

from loadgen_stub import serve_stub
from typer.testing import CliRunner

from rohe.cli.main import app

runner = CliRunner()


def test_a_profile_file_drives_the_gateway_and_writes_the_folder(tmp_path: Path) -> None:
    profile = tmp_path / "w.yaml"
    profile.write_text(
        "name: smoke\nphases:\n  - {name: a, duration_s: 0.5, rate: 20, arrival: constant, mix: {alpha: 1}}\n"
    )
    with serve_stub() as (url, seen):
        result = runner.invoke(app, ["loadgen", url, str(profile), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    with (tmp_path / "out" / "requests.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 10 == len(seen["infer"])
    assert {r["status"] for r in rows} == {"ok"}
    assert (tmp_path / "out" / "latency_over_time.png").is_file()


def test_a_bad_profile_exits_2_naming_the_field(tmp_path: Path) -> None:
    profile = tmp_path / "w.yaml"
    profile.write_text("phases:\n  - {name: a, duration_s: 1, rate: -1, mix: {alpha: 1}}\n")
    result = runner.invoke(app, ["loadgen", "http://127.0.0.1:9", str(profile)])
    assert result.exit_code == 2
    assert "phases[0].rate" in result.output
    assert "Traceback" not in result.output
