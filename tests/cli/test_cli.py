"""The `rohe` command: seed commands in embedded mode and against a real server over HTTP."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
import yaml
from typer.testing import CliRunner

from factories import node_doc, service_doc
from rohe.api.app import create_app
from rohe.cli.main import app
from rohe.core.config import Settings

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "rohe-inputs" / "orchestration_command"
runner = CliRunner()


def write(path: Path, document: object) -> Path:
    path.write_text(yaml.safe_dump(document))
    return path


def rohe(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_seed_commands_work_on_the_original_files(workdir: Path) -> None:
    code, out = rohe("orchestration", "add-node", "--conf", str(SHARED / "add_node.yaml"))
    assert code == 0, out
    code, out = rohe("orchestration", "add-service", "--conf", str(SHARED / "add_service.json"))
    assert code == 0, out
    assert rohe("orchestration", "start-agent", "--conf", str(SHARED / "start_orchestration.yaml"))[0] == 0
    code, out = rohe("orchestration", "get-node", "--conf", str(SHARED / "get_node.yaml"), "--json")
    assert code == 0
    nodes = json.loads(out)
    assert len(nodes) == 10 and sum(len(n["replicas"]) for n in nodes) > 0
    code, out = rohe("orchestration", "get-service", "--conf", str(SHARED / "get_service.yaml"), "--json")
    assert code == 0 and len(json.loads(out)) == 9
    assert rohe("orchestration", "stop-agent", "--conf", str(SHARED / "stop_orchestration.yaml"))[0] == 0
    code, out = rohe("orchestration", "remove-node", "--conf", str(SHARED / "remove_node.yaml"))
    assert code == 0, out
    assert json.loads(rohe("orchestration", "get-node", "--json")[1]) == []


def test_plan_place_and_remove(workdir: Path) -> None:
    write(workdir / "nodes.yaml", {"nodes": [node_doc("a"), node_doc("b", cores=2)]})
    write(workdir / "svc.yaml", {"services": [service_doc("web", replicas=2), service_doc("huge", cpu=50_000)]})
    assert rohe("orchestration", "add-node", "--conf", "nodes.yaml")[0] == 0
    assert rohe("orchestration", "add-service", "--conf", "svc.yaml", "--app", "shop")[0] == 0

    code, out = rohe("orchestration", "plan")
    assert code == 0 and "2/3 placed" in out
    code, out = rohe("orchestration", "plan", "--json")
    entries = json.loads(out)["entries"]
    (huge,) = [e for e in entries if e["service"] == "huge"]
    assert huge["node"] is None and "insufficient cpu" in huge["reason"]
    code, out = rohe("orchestration", "place")
    assert code == 0 and "placed 2" in out
    code, out = rohe("orchestration", "get-placement", "--json")
    assert sum(1 for r in json.loads(out) if r["status"] == "placed") == 2
    assert rohe("orchestration", "remove-service", "--app", "shop")[0] == 0
    assert json.loads(rohe("orchestration", "get-service", "--json")[1]) == []


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("nodes: [ {name: a", "not valid YAML"),
        (yaml.safe_dump({"nodes": [{"name": "a", "cores": [1000], "memory": {"rss": -1, "vms": 1}}]}), "rss"),
        (yaml.safe_dump({"nodes": [node_doc("a") | {"gpus": 2}]}), "gpus"),
        (yaml.safe_dump({"nodes": [node_doc("a"), node_doc("a")]}), "a"),
        ("", "empty"),
    ],
)
def test_bad_files_exit_non_zero_with_a_clear_message(workdir: Path, content: str, expected: str) -> None:
    (workdir / "bad.yaml").write_text(content)
    code, out = rohe("orchestration", "add-node", "--conf", "bad.yaml")
    assert code == 2
    assert "error" in out and expected in out
    assert "Traceback" not in out
    assert json.loads(rohe("orchestration", "get-node", "--json")[1]) == []


def test_unknown_names_and_missing_files_are_clear_errors(workdir: Path) -> None:
    code, out = rohe("orchestration", "remove-node", "--name", "ghost")
    assert code == 2 and "ghost" in out
    code, out = rohe("orchestration", "add-node", "--conf", "missing.yaml")
    assert code == 2 and "missing.yaml" in out
    code, out = rohe("orchestration", "plan", "--algorithm", "nope")
    assert code == 2 and "rohe-scoring" in out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    config = uvicorn.Config(
        create_app(Settings(data_dir=tmp_path / "server")), host="127.0.0.1", port=port, log_level="warning"
    )
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not instance.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(timeout=10)


def test_commands_against_a_running_service(workdir: Path, server: str) -> None:
    write(workdir / "nodes.yaml", [node_doc("a")])
    assert rohe("orchestration", "add-node", "--conf", "nodes.yaml", "--url", server)[0] == 0
    code, out = rohe("orchestration", "add-node", "--conf", "nodes.yaml", "--url", server)
    assert code == 2 and "a" in out
    write(workdir / "svc.yaml", service_doc("web", replicas=2))
    assert rohe("orchestration", "add-service", "--conf", "svc.yaml", "--url", server)[0] == 0
    assert rohe("orchestration", "start-agent", "--url", server)[0] == 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        replicas = json.loads(rohe("orchestration", "get-placement", "--json", "--url", server)[1])
        if all(r["status"] == "placed" for r in replicas):
            break
        time.sleep(0.1)
    assert [r["allocation"]["node"] for r in replicas] == ["a", "a"]
    code, out = rohe("orchestration", "remove-node", "--name", "ghost", "--url", server)
    assert code == 2 and "ghost" in out
    assert rohe("orchestration", "stop-agent", "--url", server)[0] == 0


def test_unreachable_service_is_a_clear_error(workdir: Path) -> None:
    code, out = rohe("orchestration", "get-node", "--url", f"http://127.0.0.1:{_free_port()}")
    assert code == 2 and "cannot reach" in out
