"""`rohe control` and /control: decision records listed, status read, pause/resume and pin/unpin, locally and
over HTTP; bad input is a clear error, and a one-pass `rohe control run` acts on the local store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from rohe.api.app import create_app
from rohe.api.control import router
from rohe.cli.control import app as control_app
from rohe.control import ControlState
from rohe.core.config import Settings
from rohe.core.profiles import save_catalog
from rohe.core.storage import Store

from .world import APP, RUN, catalog, hot_fast, saturated, window, world

runner = CliRunner()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ROHE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ROHE_CONFIG", raising=False)
    return tmp_path


def _db(workdir: Path) -> str:
    (workdir / "data").mkdir(exist_ok=True)
    return f"sqlite:///{workdir / 'data' / 'rohe.db'}"


def test_run_once_then_list_decisions_and_steer_locally(workdir: Path) -> None:
    hot = {"models": hot_fast(150), "resources": saturated("svc-fast", "small-1"), "p99": 600.0}
    with world(_db(workdir), contract_overrides={"models": ["fast"]}) as w:
        w.feed(window(0, rps=150, **hot))
        w.feed(window(1, rps=150, **hot))
        save_catalog(catalog(), workdir / "p.csv")
        (workdir / "c.yaml").write_text(yaml.safe_dump(w.contract.model_dump(mode="json", exclude_none=True)))
    result = runner.invoke(control_app, ["run", "--app", APP, "--run", RUN, "--contracts", "c.yaml",
                                         "--profiles", "p.csv", "--once", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "scale-out svc-fast" in result.output and "dry-run" in result.output

    listed = runner.invoke(control_app, ["decisions", "--app", APP, "--run", RUN, "--json"])
    [record] = json.loads(listed.output)
    assert record["action"]["kind"] == "scale-out" and record["status"] == "dry-run"
    table = runner.invoke(control_app, ["decisions", "--app", APP, "--run", RUN])
    assert "decision records" in table.output and "scale-out" in table.output

    assert runner.invoke(control_app, ["pause", "--app", APP, "--run", RUN, "--note", "upgrade"]).exit_code == 0
    assert runner.invoke(control_app, ["pin", "--app", APP, "--run", RUN, "--target", "svc-fast"]).exit_code == 0
    status = json.loads(runner.invoke(control_app, ["status", "--app", APP, "--run", RUN]).output)
    assert status["override"] == {"paused": True, "pins": ["svc-fast"], "note": "upgrade"}
    assert status["dry_run"] is True


def test_run_without_contracts_is_a_clear_error(workdir: Path) -> None:
    result = runner.invoke(control_app, ["run", "--app", APP, "--profiles", "missing.csv", "--contracts", "no.yaml"])
    assert result.exit_code != 0 and "Traceback" not in result.output


def test_api_lists_decisions_and_steers_the_override(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    api = create_app(settings)
    api.include_router(router)
    with TestClient(api) as client:
        store: Store = api.state.platform.store
        hot = {"models": hot_fast(150), "resources": saturated("svc-fast", "small-1"), "p99": 600.0}
        with world(store.url, contract_overrides={"models": ["fast"]}) as w:
            for i in range(2):
                w.feed(window(i, rps=150, **hot))
            w.controller().reconcile()
        decisions = client.get(f"/control/{APP}/decisions", params={"run": RUN})
        assert decisions.status_code == 200 and decisions.json()[0]["action"]["kind"] == "scale-out"
        assert client.get(f"/control/{APP}/decisions", params={"run": RUN, "limit": 0}).status_code == 422
        assert client.post(f"/control/{APP}/pause", params={"run": RUN}, json={"note": "x"}).json()["paused"]
        assert client.post(f"/control/{APP}/pin", params={"run": RUN}, json={"target": "c1"}).json()["pins"] == ["c1"]
        assert client.post(f"/control/{APP}/pin", params={"run": RUN}, json={"tgt": "c1"}).status_code == 422
        assert not client.post(f"/control/{APP}/resume", params={"run": RUN}).json()["paused"]
        assert client.get(f"/control/{APP}/status", params={"run": RUN}).json()["override"]["pins"] == ["c1"]
        assert ControlState(store, APP, RUN).override().pins == ["c1"]
