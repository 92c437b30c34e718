"""`rohe demo --app NAME --quick` for each example app besides the default, as a real process: the app is
placed, its model services run supervised (one is SIGKILLed mid-run), its consumers are served under load,
and the report folder has the same files and summary columns as object classification's. The app's shipped
application contract is judged by the observation agent on the all-consumer window."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from rohe.examples.registry import example_app
from rohe.serving.loadgen import SummaryRow
from rohe.serving.report import ACCURACY_COST_PNG, DEADLINE_PNG, LATENCY_PNG, REQUEST_COLUMNS, REQUESTS_CSV, SUMMARY_CSV

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["bts", "cctvs", "smart-building"])
def test_quick_demo_of_an_example_app(tmp_path: Path, name: str) -> None:
    app = example_app(name)
    out, data_dir = tmp_path / "out", tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": str(SRC), "COLUMNS": "120"}
    env.pop("ROHE_DATA_DIR", None)
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    done = subprocess.run(
        [sys.executable, "-m", "rohe.cli.main", "demo", "--app", name, "--quick", "--duration", "0.5",
         "--out", str(out), "--data-dir", str(data_dir)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=900, check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Traceback" not in output

    with (out / REQUESTS_CSV).open() as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == REQUEST_COLUMNS
        rows = list(reader)
    assert {r["consumer"] for r in rows} == set(app.consumers)
    answered = [r for r in rows if r["status"] in ("ok", "partial")]
    assert len(answered) > len(rows) / 2, output
    with (out / SUMMARY_CSV).open() as handle:
        reader = csv.DictReader(handle)
        assert set(reader.fieldnames or ()) >= {f.name for f in dataclasses.fields(SummaryRow)}
        assert sum(int(r["requests"]) for r in reader) == len(rows)
    for png in (LATENCY_PNG, ACCURACY_COST_PNG, DEADLINE_PNG):
        assert (out / png).read_bytes().startswith(b"\x89PNG")
    assert (out / "profiles.csv").is_file() and any((out / "manifests").glob("*.yaml"))

    document = json.loads((out / "summary.json").read_text())
    assert document["app"] == name
    killed = document["killed_service"]
    died = next(e for e in document["events"] if e["event"] == f"supervisor: {killed} died")
    assert died["exit_code"] == -9
    # The app's own consumers are served; its published application contract is judged on every request.
    judged = {p.stem for p in (out / "contracts").glob("*.yaml")}
    assert set(app.consumers) < judged
    assert f"Observation report: {app.application}" in output
    assert (out / f"{app.application}-report.html").is_file()
    assert "binds to the whole application" in output

    leftovers = [p for p in psutil.Process().children(recursive=True) if p.pid not in before]
    assert [p for p in leftovers if p.status() != psutil.STATUS_ZOMBIE] == []
