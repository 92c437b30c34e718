"""Real `rohe` CLI processes on one shared store (SQLite file or a PostgreSQL database)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from race_cli import Cli

import rohe

HERE = Path(__file__).resolve().parent
SOURCE = Path(rohe.__file__).resolve().parents[1]

# The `rohe` console script, run by this interpreter with the source under test first on the path.
ROHE = "import sys; from rohe.cli.main import app; sys.argv[0] = 'rohe'; app()"


@pytest.fixture
def cli(store_url: str, tmp_path: Path) -> Cli:
    """Starts `rohe orchestration ARGS...` as its own process on the test's store; returns the Popen."""

    def start(*args: str, **env: str) -> subprocess.Popen[str]:
        environment = {
            **os.environ,
            "ROHE_DATABASE_URL": store_url,
            "ROHE_DATA_DIR": str(tmp_path / "data"),
            # this folder too: the slow test plugin is loaded by dotted path
            "PYTHONPATH": os.pathsep.join([str(SOURCE), str(HERE)]),
            **env,
        }
        environment.pop("ROHE_CONFIG", None)
        return subprocess.Popen(
            [sys.executable, "-c", ROHE, "orchestration", *args],
            env=environment,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    return start
