"""`rohe orchestration deploy` from the CLI: Kubernetes YAML on disk, local processes started and stopped,
and ROHE's orchestrationConfig.yaml accepted as the config file."""

from __future__ import annotations

import json
from pathlib import Path

import psutil
import pytest
import yaml
from typer.testing import CliRunner

from factories import node_doc
from rohe.cli.main import app
from rohe.orchestration.deploy.local import LocalDeployer

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "rohe-inputs"
runner = CliRunner()


@pytest.fixture
def placed(workdir: Path) -> Path:
    """Two nodes and a spread service of two replicas, placed."""
    tmp_path = workdir
    (tmp_path / "nodes.yaml").write_text(yaml.safe_dump([node_doc("edge-a"), node_doc("edge-b")]))
    service = {
        "name": "web",
        "image": "python:3.11-slim",
        "command": ["{python}", "-m", "http.server", "{port}", "--bind", "127.0.0.1"],
        "ports": [8000],
        "replicas": 2,
        "spread": True,
        "cpu": 500,
        "memory": {"rss": 128, "vms": 256},
    }
    (tmp_path / "svc.yaml").write_text(yaml.safe_dump({"services": [service]}))
    for args in (["add-node", "--conf", "nodes.yaml"], ["add-service", "--conf", "svc.yaml"], ["place"]):
        result = runner.invoke(app, ["orchestration", *args])
        assert result.exit_code == 0, result.output
    return tmp_path


def test_dry_run_writes_pinned_deployments(placed: Path) -> None:
    result = runner.invoke(app, ["orchestration", "deploy", "--dry-run", "--out", "manifests"])
    assert result.exit_code == 0, result.output
    documents = [
        d for f in sorted((placed / "manifests").glob("*.yaml")) for d in yaml.safe_load_all(f.read_text()) if d
    ]
    deployments = [d for d in documents if d["kind"] == "Deployment"]
    pinned = sorted(
        d["spec"]["template"]["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
            "nodeSelectorTerms"
        ][0]["matchExpressions"][0]["values"][0]
        if "affinity" in d["spec"]["template"]["spec"]
        else d["spec"]["template"]["spec"]["nodeSelector"]["kubernetes.io/hostname"]
        for d in deployments
    )
    assert pinned == ["edge-a", "edge-b"]


def test_local_deploy_starts_every_replica_and_stop_ends_them(placed: Path) -> None:
    result = runner.invoke(app, ["orchestration", "deploy", "--target", "local"])
    assert result.exit_code == 0, result.output
    status = LocalDeployer(placed / "data" / "local").status()
    pids = [p.pid for p in status]
    assert sorted(p.node for p in status) == ["edge-a", "edge-b"]
    assert all(p.status == "running" and psutil.pid_exists(p.pid) for p in status)

    result = runner.invoke(app, ["orchestration", "deploy", "--stop"])
    assert result.exit_code == 0, result.output
    assert not [pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]


def test_rohe_orchestration_config_is_accepted(placed: Path) -> None:
    result = runner.invoke(
        app, ["--config", str(SHARED / "orchestrationConfig.yaml"), "orchestration", "plan", "--replan", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["algorithm"] == "rohe-scoring"
