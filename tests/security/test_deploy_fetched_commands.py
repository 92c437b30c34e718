"""Attack: `rohe orchestration deploy --url http://HOST` runs the commands of services fetched over plain HTTP,
so anyone on the path (or able to register a service) runs code on the deploying machine. Commands are trusted
input: fetched ones run only over https or loopback, and redacted secrets are never passed as placeholders."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from attack_kit import AUTH, TOKEN
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from factories import node_doc
from rohe.api.app import create_app
from rohe.cli.main import app as cli
from rohe.core.background_server import BackgroundServer
from rohe.core.config import ApiSettings, Settings

runner = CliRunner()


def outward_address() -> str | None:
    """This machine's address on its default route (no packet is sent), or None without one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            address: str = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def serve_with_a_service(tmp_path: Path, host: str, marker: Path) -> BackgroundServer:
    settings = Settings(data_dir=tmp_path / "server", api=ApiSettings(token=TOKEN))
    api = create_app(settings)
    script = f"import os,time; open({str(marker)!r},'w').write(os.environ.get('DB_PASSWORD','unset')); time.sleep(60)"
    service = {"name": "job", "command": ["{python}", "-c", script], "env": {"DB_PASSWORD": "stored-in-service"}}
    with TestClient(api) as setup:
        for path, body in (("/orchestration/nodes", node_doc("edge-a")), ("/orchestration/services", service)):
            assert setup.post(path, json=body, headers=AUTH).status_code == 201
        assert setup.post("/orchestration/place", headers=AUTH).status_code == 200
    return BackgroundServer(create_app(settings), host=host).start()


@pytest.fixture
def deployer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ROHE_DATA_DIR", str(tmp_path / "client"))
    monkeypatch.setenv("ROHE_API__TOKEN", TOKEN)
    monkeypatch.delenv("ROHE_CONFIG", raising=False)
    yield tmp_path
    runner.invoke(cli, ["orchestration", "deploy", "--stop"])


def test_commands_fetched_over_plain_http_beyond_loopback_are_not_run(deployer: Path) -> None:
    host = outward_address()
    if host is None:
        pytest.skip("no non-loopback address on this machine")
    marker = deployer / "ran.txt"
    server = serve_with_a_service(deployer, host, marker)
    try:
        result = runner.invoke(cli, ["orchestration", "deploy", "--url", server.url])
    finally:
        server.stop()
    time.sleep(1.0)  # a spawned command would have written its marker by now
    assert not marker.exists()
    assert result.exit_code != 0 and "unauthenticated link" in result.output, result.output


def test_redacted_env_values_are_inherited_not_passed(deployer: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_PASSWORD", "from-the-deployers-environment")
    marker = deployer / "ran.txt"
    server = serve_with_a_service(deployer, "127.0.0.1", marker)
    try:
        result = runner.invoke(cli, ["orchestration", "deploy", "--url", server.url])
    finally:
        server.stop()
    give_up = time.monotonic() + 30
    while not marker.exists() and time.monotonic() < give_up:
        time.sleep(0.1)
    assert marker.read_text() == "from-the-deployers-environment", result.output
