"""Running the placed pipeline as local processes under supervision, and where its models listen."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict

import psutil

from rohe.core.domain import Replica, Service
from rohe.core.errors import Problem, RoheError
from rohe.orchestration.deploy import local_process
from rohe.orchestration.deploy.local import LocalDeployer, LocalReplicaProcess, SupervisorEvent


class SupervisedServices:
    """The demo's replica processes: started once, watched by the local backend's supervisor; every
    supervisor event is kept (with Unix time) for the run's timeline."""

    def __init__(self, deployer: LocalDeployer) -> None:
        self.deployer = deployer
        self.events: list[SupervisorEvent] = []
        self._lock = threading.Lock()
        self.processes: list[LocalReplicaProcess] = []

    def start(self, services: Sequence[Service], replicas: Sequence[Replica], *, backoff: float = 1.0) -> None:
        self.processes = self.deployer.apply(services, replicas)
        self.deployer.supervise(interval=0.2, backoff=backoff, max_restarts=3, on_event=self._record)

    def _record(self, event: SupervisorEvent) -> None:
        with self._lock:
            self.events.append(event)

    def recorded(self) -> list[SupervisorEvent]:
        with self._lock:
            return list(self.events)

    def unhealthy(self) -> list[LocalReplicaProcess]:
        return [p for p in self.processes if p.status != "running"]

    def endpoints(self, model_services: Mapping[str, str]) -> dict[str, list[str]]:
        """model name -> base URLs of the running replicas of the service serving it."""
        urls: dict[str, list[str]] = {}
        problems = []
        for model, service in model_services.items():
            ports = [p.port for p in self.processes if p.service == service and p.status == "running" and p.port]
            if not ports:
                problems.append(Problem(f"services.{service}", "no running replica with a port", "see its log"))
            urls[model] = [f"http://127.0.0.1:{port}" for port in ports]
        if problems:
            raise RoheError("the demo's model services did not start", problems)
        return urls

    def kill(self, service: str, index: int = 0) -> dict[str, object]:
        """SIGKILL one replica process, as a crash would; the supervisor is left to notice and restart it."""
        current = {(p.service, p.index): p for p in self.deployer.status()}
        process = current[(service, index)]
        os.kill(process.pid, signal.SIGKILL)
        return {"service": service, "replica": index, "pid": process.pid, "port": process.port, "signal": "SIGKILL"}

    def wait_restarted(self, service: str, timeout: float) -> bool:
        """Wait until the supervisor reports `service` healthy again after a death (or the timeout)."""
        give_up = time.monotonic() + timeout
        while time.monotonic() < give_up:
            if any(e.kind == "healthy" and e.service == service for e in self.recorded()):
                return True
            time.sleep(0.1)
        return False

    def stop(self) -> None:
        self.deployer.stop_all()
        # An interrupt while `apply` still waits for health checks leaves processes the deployer has started
        # but not yet recorded; they are our children and carry the ROHE_SERVICE the deployer gives them.
        for child in psutil.Process().children():
            try:
                if "ROHE_SERVICE" in child.environ():
                    local_process.stop(child.pid, child.create_time())
            except psutil.Error:
                continue  # gone meanwhile, or not ours to read


def timeline(events: Sequence[SupervisorEvent], run_started_unix: float) -> list[dict[str, object]]:
    """Supervisor events as run events: seconds into the run instead of Unix time."""
    return [
        {
            "at_s": round(event.at - run_started_unix, 3),
            "event": f"supervisor: {event.service} {event.kind}",
            **{k: v for k, v in asdict(event).items() if k not in ("at", "kind")},
        }
        for event in events
    ]
