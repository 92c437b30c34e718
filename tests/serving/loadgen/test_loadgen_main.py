"""`python -m rohe.serving.loadgen`: a profile file in, a report folder out; a bad profile is a clear error."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from loadgen_stub import serve_stub

from rohe.serving.loadgen.__main__ import main


def test_a_profile_file_drives_the_gateway_and_writes_the_folder(tmp_path: Path) -> None:
    profile = tmp_path / "w.yaml"
    profile.write_text(
        "name: smoke\nphases:\n  - {name: a, duration_s: 0.5, rate: 20, arrival: constant, mix: {alpha: 1}}\n"
    )
    with serve_stub() as (url, seen):
        assert main(["--url", url, "--profile", str(profile), "--out", str(tmp_path / "out")]) == 0
    with (tmp_path / "out" / "requests.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 10 == len(seen["infer"])
    assert {r["status"] for r in rows} == {"ok"}
    assert (tmp_path / "out" / "latency_over_time.png").is_file()


def test_a_bad_profile_exits_2_naming_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile = tmp_path / "w.yaml"
    profile.write_text("phases:\n  - {name: a, duration_s: 1, rate: -1, mix: {alpha: 1}}\n")
    assert main(["--url", "http://127.0.0.1:9", "--profile", str(profile)]) == 2
    assert "phases[0].rate" in capsys.readouterr().err
