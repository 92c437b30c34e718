"""The local backend's supervisor: a killed replica is noticed, reported and restarted on its old port."""

from __future__ import annotations

import http.client
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
from deploy_inputs import placed

from factories import service
from rohe.orchestration.deploy.local import LocalDeployer, SupervisorEvent

HTTP_SERVER = [sys.executable, "-m", "http.server", "{port}", "--bind", "127.0.0.1"]


@pytest.fixture
def deployer(tmp_path: Path) -> Iterator[LocalDeployer]:
    local = LocalDeployer(tmp_path / "state", health_timeout=20.0)
    yield local
    local.stop_all()


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    give_up = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < give_up, "condition not reached in time"
        time.sleep(0.05)


def answers(port: int) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/")
        return connection.getresponse().status
    finally:
        connection.close()


def test_a_killed_replica_is_restarted_on_its_port_and_reported(deployer: LocalDeployer) -> None:
    web = service("web", ports=[8000], command=HTTP_SERVER)
    first, other = deployer.apply([web], [placed("web", 0, "n1"), placed("web", 1, "n1")])
    seen: list[SupervisorEvent] = []
    deployer.supervise(interval=0.05, backoff=0.05, on_event=seen.append)
    assert answers(first.port or 0) == 200  # also leaves a connection in TIME_WAIT on the port

    os.kill(first.pid, signal.SIGKILL)
    wait_for(lambda: any(e.kind == "healthy" for e in seen))

    kinds = [(e.kind, e.index) for e in seen]
    assert kinds == [("died", 0), ("restarted", 0), ("healthy", 0)]
    died = seen[0]
    assert died.exit_code == -signal.SIGKILL and died.pid == first.pid and died.port == first.port
    assert time.time() - died.at < 30
    now = {p.index: p for p in deployer.status()}
    assert now[0].status == "running" and now[0].pid != first.pid and now[0].port == first.port
    assert now[1].pid == other.pid  # the healthy sibling was left alone
    assert answers(first.port or 0) == 200
    assert [(e.kind, e.exit_code) for e in deployer.events()][:1] == [("died", -signal.SIGKILL)]


def test_a_replica_that_keeps_dying_is_given_up_after_the_bounded_restarts(deployer: LocalDeployer) -> None:
    flaky = service("flaky", command=[sys.executable, "-c", "import time; time.sleep(0.7)"])
    (process,) = deployer.apply([flaky], [placed("flaky", 0, "n1")])
    assert process.status == "running"
    seen: list[SupervisorEvent] = []
    deployer.supervise(interval=0.05, backoff=0.05, max_restarts=2, on_event=seen.append)
    wait_for(lambda: any(e.kind == "gave up" for e in seen), timeout=30)
    assert [e.kind for e in seen].count("restarted") == 2
    assert deployer.status()[0].status == "failed: gave up after 2 restarts"


def test_stop_all_stops_supervising_first(deployer: LocalDeployer) -> None:
    web = service("web", ports=[8000], command=HTTP_SERVER)
    (process,) = deployer.apply([web], [placed("web", 0, "n1")])
    deployer.supervise(interval=0.05, backoff=0.05)
    deployer.stop_all()
    time.sleep(0.3)
    assert deployer.status() == []
    assert not psutil.pid_exists(process.pid) or psutil.Process(process.pid).status() == psutil.STATUS_ZOMBIE
    assert deployer.events() == []
