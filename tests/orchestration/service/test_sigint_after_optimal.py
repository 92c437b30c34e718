"""Ctrl-C still shuts `rohe start orchestration-service` down gracefully after an exact (CP-SAT) plan.

CP-SAT installs its own SIGINT handler for the length of a solve unless told not to; when the solve ends it
leaves SIGINT at the C default, so the next Ctrl-C killed the server on the spot (no lifespan shutdown,
the agent and store never closed). A real server process, a real plan request, a real SIGINT.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

import rohe
from factories import node, service
from rohe.core.storage import Store

ROHE = "import sys; from rohe.cli.main import app; sys.argv[0] = 'rohe'; app()"
SOURCE = Path(rohe.__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_sigint_after_an_optimal_plan_shuts_the_service_down_gracefully(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rohe.db'}"
    with Store(url) as store:
        store.upgrade()
        store.add_nodes([node(f"n{i}") for i in range(4)])
        store.add_services([service("web", replicas=6), service("db", cpu=1500, replicas=2)])
    port = _free_port()
    environment = {
        **os.environ,
        "ROHE_DATABASE_URL": url,
        "ROHE_DATA_DIR": str(tmp_path / "data"),
        "ROHE_ORCHESTRATION__OPTIMAL_TIME_LIMIT": "2",
        "PYTHONPATH": str(SOURCE),
    }
    environment.pop("ROHE_CONFIG", None)
    server = subprocess.Popen(
        [sys.executable, "-c", ROHE, "start", "orchestration-service", "--port", str(port)],
        env=environment,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180  # a cold start on a busy shared machine
        while True:
            assert server.poll() is None, server.communicate()[0]
            try:
                httpx.get(f"{base}/orchestration/nodes", timeout=5).raise_for_status()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the service never answered"
                time.sleep(0.2)
        plan = httpx.post(f"{base}/orchestration/plan", params={"algorithm": "optimal"}, timeout=60)
        assert plan.status_code == 200, plan.text
        assert plan.json()["algorithm"] == "optimal"

        os.kill(server.pid, signal.SIGINT)
        output, _ = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    # killed by the signal would be -SIGINT; a graceful stop runs the lifespan's shutdown and exits 0
    assert server.returncode == 0, output
    assert "Application shutdown complete." in output
    assert "Finished server process" in output
