"""The CLI starts without the heavy libraries: they are imported by the commands that use them.

Structural, not timed: a fresh interpreter imports rohe.cli.main (and runs `--help` / `version`) and the test
looks at sys.modules. benchmarks/cli_start.py measures the times.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("sklearn", "matplotlib", "ortools", "scipy", "numpy", "pandas", "fastapi", "uvicorn", "kubernetes",
         "sqlalchemy", "alembic", "onnxruntime")
SRC = Path(__file__).resolve().parents[2] / "src"


def loaded_after(code: str) -> list[str]:
    probe = f"""
import json, sys
sys.argv = ["rohe"]
{code}
print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}})))
"""
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return [m for m in json.loads(done.stdout.splitlines()[-1]) if m in HEAVY]


def test_importing_the_cli_imports_no_heavy_library() -> None:
    assert loaded_after("import rohe.cli.main") == []


@pytest.mark.parametrize("args", [["--help"], ["version"]])
def test_help_and_version_import_no_heavy_library(args: list[str]) -> None:
    code = f"""
from rohe.cli.main import app
try:
    app({args!r}, standalone_mode=False)
except SystemExit:
    pass
"""
    assert loaded_after(code) == []


@pytest.mark.parametrize("group", ["demo", "start", "observation"])
def test_a_command_group_help_imports_nothing_it_does_not_run(group: str) -> None:
    code = f"""
from rohe.cli.main import app
try:
    app([{group!r}, "--help"], standalone_mode=False)
except SystemExit:
    pass
"""
    assert loaded_after(code) == []
