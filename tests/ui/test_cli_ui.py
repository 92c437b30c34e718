"""`rohe ui` refuses what it cannot do with a clear message and a non-zero exit, before serving anything."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from rohe.cli.ui import ui


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    app.command()(ui)
    return app


def test_binding_beyond_loopback_without_a_token_is_refused(
    cli: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROHE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ROHE_API__TOKEN", raising=False)
    result = CliRunner().invoke(cli, ["--host", "0.0.0.0"])
    assert result.exit_code != 0
    assert "refusing to listen on 0.0.0.0" in result.output
    assert "Traceback" not in result.output


def test_a_missing_reports_folder_names_the_option(cli: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--reports", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "--reports" in result.output
