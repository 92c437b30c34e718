"""The local process backend with real processes: start, health, idempotence, restart of rohe, stop."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from deploy_inputs import placed, queued

from factories import service
from rohe.core.domain import Service
from rohe.orchestration.deploy.local import LocalDeployer, LocalReplicaProcess

HTTP_SERVER = [sys.executable, "-m", "http.server", "{port}", "--bind", "127.0.0.1"]
# Prints what it was given, then serves HTTP: by the time the health check passes the line is in the log.
ECHO_SERVER = [
    sys.executable,
    "-c",
    "import os, sys, http.server as h\n"
    "print('ARGS', sys.argv[1:], os.environ['ROHE_NODE'], os.environ['ROHE_PORT'], os.environ['ROHE_REPLICA'],"
    " os.environ['GREETING'], flush=True)\n"
    "h.HTTPServer(('127.0.0.1', int(os.environ['ROHE_PORT'])), h.SimpleHTTPRequestHandler).serve_forever()",
    "{service}",
    "{replica}",
    "{node}",
    "{port}",
]
# Starts a grandchild, so stopping must take the whole process group.
FAMILY = [
    sys.executable,
    "-c",
    "import subprocess, sys, time\n"
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
    "time.sleep(120)",
]


@pytest.fixture
def deployer(tmp_path: Path) -> Iterator[LocalDeployer]:
    local = LocalDeployer(tmp_path / "state", health_timeout=30.0)
    yield local
    local.stop_all()


def web(name: str = "web", command: list[str] | None = None, **extra: object) -> Service:
    return service(name, ports=[8000], command=command or HTTP_SERVER, **extra)  # type: ignore[arg-type]


def by_key(processes: list[LocalReplicaProcess]) -> dict[str, LocalReplicaProcess]:
    return {f"{p.service}-{p.index}": p for p in processes}


def family_of(pid: int) -> list[int]:
    try:
        return [pid, *(child.pid for child in psutil.Process(pid).children(recursive=True))]
    except psutil.NoSuchProcess:
        return [pid]


def gone(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True


def test_replicas_start_healthy_with_their_own_ports(deployer: LocalDeployer) -> None:
    processes = by_key(deployer.apply([web()], [placed("web", 0, "n1"), placed("web", 1, "n2"), queued("web", 2)]))
    assert set(processes) == {"web-0", "web-1"}
    assert all(p.status == "running" for p in processes.values())
    assert processes["web-0"].port != processes["web-1"].port
    assert processes["web-1"].node == "n2"
    assert all(psutil.Process(p.pid).is_running() for p in processes.values())
    assert (deployer.state_dir / "logs" / "web-0.log").is_file()
    saved = json.loads(deployer.state_file.read_text(encoding="utf-8"))
    assert {(p["service"], p["pid"], p["port"]) for p in saved["processes"]} == {
        ("web", p.pid, p.port) for p in processes.values()
    }


def test_placeholders_and_environment_reach_the_process(deployer: LocalDeployer) -> None:
    svc = web("echo", ECHO_SERVER, env={"GREETING": "hello"})
    (process,) = deployer.apply([svc], [placed("echo", 3, "edge-7")])
    assert process.status == "running"
    log = (deployer.state_dir / "logs" / "echo-3.log").read_text(encoding="utf-8")
    port = str(process.port)
    assert f"ARGS ['echo', '3', 'edge-7', '{port}'] edge-7 {port} 3 hello" in log


def test_second_apply_starts_nothing_new(deployer: LocalDeployer) -> None:
    services, replicas = [web()], [placed("web", 0, "n1"), placed("web", 1, "n1")]
    first = deployer.apply(services, replicas)
    second = deployer.apply(services, replicas)
    assert second == first


def test_removed_and_moved_replicas_are_stopped(deployer: LocalDeployer) -> None:
    first = by_key(deployer.apply([web()], [placed("web", 0, "n1"), placed("web", 1, "n1")]))
    second = by_key(deployer.apply([web()], [placed("web", 0, "n2")]))
    assert set(second) == {"web-0"}
    assert second["web-0"].node == "n2"
    assert second["web-0"].pid != first["web-0"].pid
    assert gone(first["web-0"].pid)
    assert gone(first["web-1"].pid)
    assert second["web-0"].status == "running"


def test_changed_command_restarts_the_replica(deployer: LocalDeployer) -> None:
    (first,) = deployer.apply([web()], [placed("web", 0, "n1")])
    (second,) = deployer.apply([web(env={"MODE": "new"})], [placed("web", 0, "n1")])
    assert second.pid != first.pid
    assert gone(first.pid)


def test_a_restarted_rohe_finds_and_stops_the_processes(tmp_path: Path) -> None:
    state = tmp_path / "state"
    services, replicas = [web()], [placed("web", 0, "n1"), placed("web", 1, "n2")]
    started = LocalDeployer(state, health_timeout=30.0).apply(services, replicas)

    again = LocalDeployer(state, health_timeout=30.0)
    try:
        assert again.status() == started
        assert again.apply(services, replicas) == started
    finally:
        again.stop_all()
    assert all(gone(p.pid) for p in started)
    assert LocalDeployer(state).status() == []


def test_a_command_that_exits_at_once_is_reported_as_exited(deployer: LocalDeployer) -> None:
    quitter = web("quitter", [sys.executable, "-c", "import sys; sys.exit(3)"])
    (process,) = deployer.apply([quitter], [placed("quitter", 0, "n1")])
    assert process.status == "exited"
    assert deployer.status()[0].status == "exited"


def test_exit_of_a_portless_process_shows_in_status(deployer: LocalDeployer) -> None:
    job = service("job", command=[sys.executable, "-c", "pass"])
    (process,) = deployer.apply([job], [placed("job", 0, "n1")])
    assert process.port is None
    if not gone(process.pid):
        psutil.wait_procs([psutil.Process(process.pid)], timeout=30)
    assert deployer.status()[0].status == "exited"


def test_a_port_that_never_opens_is_unhealthy_and_left_running(tmp_path: Path) -> None:
    local = LocalDeployer(tmp_path / "state", health_timeout=0.5)
    sleeper = web("sleeper", [sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        (process,) = local.apply([sleeper], [placed("sleeper", 0, "n1")])
        assert process.status == "unhealthy"
        assert not gone(process.pid)
        assert local.status()[0].status == "unhealthy"
    finally:
        local.stop_all()


def test_an_http_error_on_health_is_unhealthy(tmp_path: Path) -> None:
    # BaseHTTPRequestHandler has no do_GET: every GET /health gets 501.
    script = (
        "import os, http.server as h; h.HTTPServer(('127.0.0.1', int(os.environ['ROHE_PORT'])),"
        " h.BaseHTTPRequestHandler).serve_forever()"
    )
    local = LocalDeployer(tmp_path / "state", health_timeout=1.0)
    try:
        (process,) = local.apply([web("broken", [sys.executable, "-c", script])], [placed("broken", 0, "n1")])
        assert process.status == "unhealthy"
    finally:
        local.stop_all()


def test_services_without_command_are_skipped_with_a_note(deployer: LocalDeployer) -> None:
    (process,) = deployer.apply([service("nocmd", image="x:1")], [placed("nocmd", 0, "n1")])
    assert (process.status, process.pid) == ("skipped: no command", 0)
    assert deployer.status() == []


def test_missing_executable_is_reported_not_raised(deployer: LocalDeployer, tmp_path: Path) -> None:
    missing = service("missing", command=[str(tmp_path / "no-such-binary")])
    (process,) = deployer.apply([missing], [placed("missing", 0, "n1")])
    assert process.status.startswith("failed: cannot start")


def test_stop_all_leaves_no_process_behind(deployer: LocalDeployer) -> None:
    processes = deployer.apply(
        [web(), service("family", command=FAMILY)],
        [placed("web", 0, "n1"), placed("family", 0, "n1"), placed("family", 1, "n2")],
    )
    family = [p for p in processes if p.service == "family"]
    pids = [pid for p in processes for pid in family_of(p.pid)]
    # The grandchildren are started by the family processes themselves; wait until they exist.
    for p in family:
        leader = psutil.Process(p.pid)
        while not leader.children() and leader.is_running():
            psutil.wait_procs([leader], timeout=0.05)
        pids.extend(child.pid for child in leader.children(recursive=True))
    assert len(set(pids)) >= 5
    deployer.stop_all()
    assert [pid for pid in set(pids) if not gone(pid)] == []
    assert deployer.status() == []


def test_a_recycled_pid_is_never_killed(tmp_path: Path) -> None:
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        state = tmp_path / "state"
        state.mkdir()
        record = {
            "service": "web",
            "index": 0,
            "node": "n1",
            "pid": stranger.pid,
            "port": None,
            "started": psutil.Process(stranger.pid).create_time() - 1000,
            "fingerprint": "x",
            "status": "running",
        }
        (state / "local-processes.json").write_text(json.dumps({"version": 1, "processes": [record]}))
        local = LocalDeployer(state)
        assert local.status()[0].status == "exited"
        local.stop_all()
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


def test_a_crashed_replica_is_restarted_by_the_next_apply(deployer: LocalDeployer) -> None:
    services, replicas = [web()], [placed("web", 0, "n1"), placed("web", 1, "n1")]
    first = by_key(deployer.apply(services, replicas))
    crashed = psutil.Process(first["web-0"].pid)
    crashed.kill()
    crashed.wait(timeout=30)
    assert by_key(deployer.status())["web-0"].status == "exited"

    second = by_key(deployer.apply(services, replicas))
    assert second["web-0"].pid != first["web-0"].pid
    assert second["web-0"].status == "running"
    assert second["web-1"] == first["web-1"]
