"""An observation agent as a real child process (`rohe observation start-observation-agent --foreground`), so a
test can kill it with a real SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

import rohe
from rohe.observation.registration import build_registration
from rohe.observation.store import ObservationStore

SOURCE = Path(rohe.__file__).resolve().parents[1]


CREDENTIALS_ENV = "ROHE_FAULTS_BROKER_CREDENTIALS"


def register(store: ObservationStore, app: str, run: str, kind: str, url: str, credentials: str | None = None) -> None:
    """Register the app run; `credentials` (user:password) reach the agent through CREDENTIALS_ENV only."""
    store.save_app(build_registration(app, run, "faults", transport=kind, broker_url=url,  # type: ignore[arg-type]
                                      credentials_env=CREDENTIALS_ENV if credentials else None))


def write_conf(folder: Path, app: str, run: str, kind: str, url: str, **extra: Any) -> Path:
    conf = {"app": app, "run": run, "transport": {"kind": kind, "url": url},
            "windows": [{"kind": "tumbling", "size_s": 2.0}], "allowed_lateness_s": 0.5, **extra}
    path = folder / "agent.yaml"
    path.write_text(yaml.safe_dump(conf))
    return path


class AgentProcess:
    def __init__(self, conf: Path, app: str, database_url: str, workdir: Path, name: str,
                 credentials: str | None = None) -> None:
        env = {**os.environ, "ROHE_DATABASE_URL": database_url, "ROHE_DATA_DIR": str(workdir),
               "PYTHONPATH": os.pathsep.join([str(SOURCE), os.environ.get("PYTHONPATH", "")])}
        if credentials:
            env[CREDENTIALS_ENV] = credentials
        env.pop("ROHE_CONFIG", None)
        env["PYTHONUNBUFFERED"] = "1"  # the "running" line must reach the log while the agent runs
        self.log = workdir / f"{name}.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-c", "from rohe.cli.main import app; app()", "observation",
                 "start-observation-agent", "--app", app, "--conf", str(conf), "--foreground"],
                stdout=out, stderr=subprocess.STDOUT, env=env, cwd=workdir)

    def wait_running(self, timeout: float = 120.0) -> None:
        """Until the agent printed that it runs (it is subscribed, or still connecting after its short wait).
        Importing the CLI takes a few seconds, and half a minute on a machine loaded by parallel test runs."""
        deadline = time.monotonic() + timeout
        while "running" not in self.log.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"agent did not start: {self.log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.05)

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM: the agent stops, flushes its windows and saves its state; returns the exit code."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
        return self.process.wait(timeout=timeout)
