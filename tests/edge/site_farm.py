"""Real processes for the edge tests: model replicas on loopback addresses (127.0.0.x, one per "node", all on
one port, so `http://{node}:{port}` resolves them), the central API (`rohe start orchestration-service`) on
a free port with its own data dir, and the gateway pieces that follow it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from rohe.core.contracts import ConsumerContract
from rohe.core.profiles import ModelProfile, ProfileCatalog
from rohe.serving.pipeline import PipelineSpec, parse_pipeline

HERE = Path(__file__).resolve().parent
SRC = HERE.parents[1] / "src"
SAMPLE = [0.1, 0.2, 0.3, 0.4]
NODES = ("127.0.0.2", "127.0.0.3", "127.0.0.4")


def _env(**extra: str) -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(SRC), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, **extra}


def free_port(*hosts: str) -> int:
    """A port free on every one of `hosts`."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind((hosts[0], 0))
            port = int(first.getsockname()[1])
            others = []
            try:
                for host in hosts[1:]:
                    other = socket.socket()
                    others.append(other)
                    other.bind((host, port))
            except OSError:
                continue
            finally:
                for other in others:
                    other.close()
            return port
    raise RuntimeError("no port free on all hosts")


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not become healthy")


class Replica:
    def __init__(self, host: str, port: int, answer: int, delay: float = 0.0) -> None:
        self.url = f"http://{host}:{port}"
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "replica_app.py"), "--host", host, "--port", str(port),
             "--answer", str(answer), "--delay", str(delay)],
            env=_env(),
        )
        wait_healthy(self.url, self.process)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Central:
    """`rohe start orchestration-service` as a child process; `kill()` is a real SIGKILL."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port("127.0.0.1")
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Central:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "rohe.cli.main", "start", "orchestration-service", "--port", str(self.port)],
            env=_env(ROHE_DATA_DIR=str(self.data_dir)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_healthy(self.url, self.process, timeout=120)
        return self

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def node_doc(name: str) -> dict[str, Any]:
    return {"name": name, "cores": [1000] * 4, "memory": {"rss": 4096, "vms": 4096}}


def service_doc(port: int, replicas: int = 1) -> dict[str, Any]:
    return {"name": "svc-m", "cpu": 500, "memory": {"rss": 256, "vms": 256}, "replicas": replicas,
            "ports": [port], "spread": True}


def pipeline(port: int) -> PipelineSpec:
    return parse_pipeline(
        {
            "application": "edge-test",
            "stages": [{"name": "inference", "services": ["svc-m"]}],
            "modalities": [{"name": "image", "models": {"m": "svc-m"}}],
            "services": [{"name": "svc-m", "image": "x", "ports": [port]}],
        }
    )


def catalog() -> ProfileCatalog:
    return ProfileCatalog.of([
        ModelProfile(model="m", node_type="local", latency_p50_ms=5, latency_p99_ms=50, throughput_rps=100,
                     accuracy=0.9, cost_per_request=0.001, class_accuracy={c: 0.9 for c in range(10)})
    ])


def contract(deadline_ms: float = 3000) -> ConsumerContract:
    return ConsumerContract.model_validate(
        {"consumer": "cam", "ensemble": {"min": 1, "max": 1}, "required_throughput": 1, "deadline_ms": deadline_ms,
         "objectives": [{"metric": "accuracy", "direction": "maximize", "min": 0, "max": 1}]}
    )
