"""Every `--conf` of the orchestration commands is read and checked, even where ROHE's file carries nothing
but the request itself: a missing file, a file of another kind or for another command is a clear error
(non-zero exit, the file named, what was expected), never silently ignored."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from rohe.cli.main import app

runner = CliRunner()

# command -> the ROHE command its --conf file must carry
EXPECTED = {
    "get-node": "GET ALL NODES",
    "get-service": "GET ALL SERVICES",
    "start-agent": "START AGENT",
    "stop-agent": "STOP AGENT",
}


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ROHE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ROHE_CONFIG", raising=False)
    monkeypatch.delenv("ROHE_DATABASE_URL", raising=False)
    return tmp_path


def _said(text: str, output: str) -> bool:
    """`text` appears in the output, however Rich wrapped the lines."""
    return "".join(text.split()) in "".join(output.split())


def _envelope(path: Path, command: str) -> Path:
    path.write_text(yaml.safe_dump({"application": "test", "client_id": "c", "role": "client", "command": command}))
    return path


@pytest.mark.parametrize("command", sorted(EXPECTED))
def test_a_missing_conf_file_fails_naming_it(command: str, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    result = runner.invoke(app, ["orchestration", command, "--conf", str(missing)])
    assert result.exit_code != 0
    assert _said(f"file not found: {missing}", result.output) and "Traceback" not in result.output


@pytest.mark.parametrize("command", sorted(EXPECTED))
def test_a_conf_file_for_another_command_fails_and_points_to_it(command: str, tmp_path: Path) -> None:
    other = _envelope(tmp_path / "add_service.yaml", "ADD SERVICE")
    result = runner.invoke(app, ["orchestration", command, "--conf", str(other)])
    assert result.exit_code != 0
    assert _said(f"{other} is a ROHE 'ADD SERVICE' command, not {EXPECTED[command]}", result.output)
    assert _said("rohe orchestration add-service --conf FILE", result.output)


@pytest.mark.parametrize("command", sorted(EXPECTED))
def test_a_conf_file_that_is_no_command_at_all_fails(command: str, tmp_path: Path) -> None:
    nodes = tmp_path / "nodes.yaml"
    nodes.write_text(yaml.safe_dump({"nodes": [{"name": "a", "cores": [1000], "memory": {"rss": 1024}}]}))
    result = runner.invoke(app, ["orchestration", command, "--conf", str(nodes)])
    assert result.exit_code != 0
    assert _said(f"{nodes} is not a ROHE '{EXPECTED[command]}' command file", result.output)
    assert _said("no `command` field", result.output)


@pytest.mark.parametrize("command", sorted(EXPECTED))
def test_the_right_rohe_file_is_accepted(command: str, tmp_path: Path) -> None:
    right = _envelope(tmp_path / "request.yaml", EXPECTED[command].lower())  # ROHE's casing is not enforced
    result = runner.invoke(app, ["orchestration", command, "--conf", str(right)])
    assert result.exit_code == 0, result.output
