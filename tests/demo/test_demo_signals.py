"""A real SIGINT or SIGTERM sent to a real `rohe demo --quick` process stops everything it started.

The demo runs in its own process (and session); the signal is sent with os.kill once its model services run
(during profiling) or once the load has begun. Afterwards no process of the demo survives: neither one of its
descendants seen while it ran, nor any process on the machine carrying the demo's ROHE_DATA_DIR (a model
service orphaned to PID 1 would still carry it).
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
MODEL_SERVICES = 5


def _ours(data_dir: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get("ROHE_DATA_DIR") == str(data_dir) and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except psutil.Error:
            continue
    return found


def _wait_for_line(demo: subprocess.Popen[str], marker: str, seen: list[str], timeout: float) -> None:
    assert demo.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(demo.stdout, selectors.EVENT_READ)
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        if not selector.select(timeout=1.0):
            continue
        line = demo.stdout.readline()
        if not line:
            pytest.fail(f"the demo ended before {marker!r}:\n{''.join(seen)}")
        seen.append(line)
        if marker in line:
            return
    pytest.fail(f"no {marker!r} within {timeout} s:\n{''.join(seen)}")


@pytest.mark.parametrize(
    ("sig", "marker", "code"),
    [
        (signal.SIGINT, "replica process(es) running", 130),  # while the models are profiled
        (signal.SIGTERM, "load:", 143),  # while the load runs
    ],
    ids=["sigint-during-profiling", "sigterm-during-load"],
)
def test_a_signal_stops_every_process_the_demo_started(
    tmp_path: Path, sig: signal.Signals, marker: str, code: int
) -> None:
    data_dir = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": str(SRC), "COLUMNS": "120"}
    env.pop("ROHE_DATA_DIR", None)
    demo = subprocess.Popen(
        [sys.executable, "-m", "rohe.cli.main", "demo", "--quick", "--out", str(tmp_path / "out"),
         "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=tmp_path,
        start_new_session=True,
    )
    seen: list[str] = []
    try:
        _wait_for_line(demo, marker, seen, timeout=600)
        family = psutil.Process(demo.pid).children(recursive=True)
        services = [p for p in family if "ROHE_SERVICE" in p.environ()]
        assert len(services) >= MODEL_SERVICES, [p.cmdline() for p in family]

        os.kill(demo.pid, sig)
        rest, _ = demo.communicate(timeout=180)
        output = "".join(seen) + rest
        assert demo.returncode == code, output
        assert "everything the demo started has been stopped" in output
        assert "Traceback" not in output
        survivors = [p for p in family if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        assert survivors == [], [p.cmdline() for p in survivors]
        assert _ours(data_dir) == []
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()
        for process in _ours(data_dir):  # never leave a stray service behind, even when the test fails
            process.kill()
