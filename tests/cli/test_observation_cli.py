"""`rohe observation ...`: embedded on the local store, and against a running service over real HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import yaml
from typer.testing import CliRunner

from rohe.api.app import create_app
from rohe.cli.main import app
from rohe.core.config import Settings
from rohe.core.storage import Store
from rohe.observation.metrics import WindowMetrics
from rohe.observation.reports import Report, ReportKind, RequestStatus
from rohe.observation.store import ObservationStore
from rohe.quality import RuleAlert, Severity, build_incident

runner = CliRunner()
CONFIG = {"windows": [{"size_s": 1}], "allowed_lateness_s": 0, "idle_close_s": None}
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)


def rohe(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def json_tail(output: str) -> Any:
    """The JSON document a command printed last (status lines may precede it)."""
    start = min(i for i in (output.find("{"), output.find("[")) if i >= 0)
    return json.loads(output[start:])


def write(path: Path, document: object) -> Path:
    path.write_text(yaml.safe_dump(document))
    return path


def test_register_list_and_delete_embedded(workdir: Path) -> None:
    code, out = rohe("observation", "register-app", "--app", "shop", "--run", "r1", "--user", "alice",
                     "--output_dir", str(workdir / "meta"))
    assert code == 0, out
    printed = json_tail(out)
    written = json.loads((workdir / "meta" / "shop-r1.json").read_text())
    assert isinstance(printed, dict) and printed["app_id"] == written["app_id"]
    code, out = rohe("observation", "register-app", "--app", "shop", "--run", "r1", "--user", "bob",
                     "--output-dir", str(workdir / "meta"), "--transport", "mqtt")
    assert code == 0, out
    again = json.loads((workdir / "meta" / "shop-r1.json").read_text())
    assert again["app_id"] == written["app_id"] and again["probe"]["transport"]["channel"] == "rohe/obs/shop/r1"
    code, out = rohe("observation", "list-apps", "--json")
    assert code == 0 and [(a["app"], a["user"]) for a in json_tail(out)] == [("shop", "bob")]
    code, out = rohe("observation", "list-apps")
    assert code == 0 and "bob" in out and "mqtt" in out
    code, out = rohe("observation", "delete-app", "--app", "shop", "--drop-metrics")
    assert code == 0 and "deleted" in out
    code, out = rohe("observation", "delete-app", "--app", "shop")
    assert code == 2 and "not registered" in out


def test_agents_are_recorded_embedded_and_bad_input_exits_2(workdir: Path) -> None:
    assert rohe("observation", "register-app", "--app", "shop")[0] == 0
    conf = write(workdir / "agent.yaml", CONFIG)
    code, out = rohe("observation", "start-observation-agent", "--app", "shop", "--conf", str(conf))
    assert code == 0 and "recorded" in out, out
    code, out = rohe("observation", "agents", "--json")
    assert [(a["app"], a["desired"], a["running"]) for a in json_tail(out)] == [
        ("shop", "running", False)]
    code, out = rohe("observation", "stop-observation-agent", "--app", "shop")
    assert code == 0 and "shop/default" in out

    code, out = rohe("observation", "start-observation-agent", "--app", "ghost", "--conf", str(conf))
    assert code == 2 and "not registered" in out
    bad = write(workdir / "bad.yaml", {"windows": [{"size_s": "soon"}]})
    code, out = rohe("observation", "start-observation-agent", "--app", "shop", "--conf", str(bad))
    assert code == 2 and "windows[0].size_s" in out
    other = write(workdir / "other.yaml", {**CONFIG, "app": "zoo"})
    code, out = rohe("observation", "start-observation-agent", "--app", "shop", "--conf", str(other))
    assert code == 2 and "another app" in out
    code, out = rohe("observation", "start-observation-agent", "--app", "shop", "--conf", str(workdir / "no.yaml"))
    assert code == 2 and "not found" in out
    code, out = rohe("observation", "windows", "--app", "nobody")
    assert code == 2 and "unknown app" in out
    code, out = rohe("observation", "register-app", "--app", "x", "--transport", "pigeon")
    assert code == 2 and "--transport" in out


def test_foreground_agent_runs_until_interrupted(workdir: Path) -> None:
    assert rohe("observation", "register-app", "--app", "shop")[0] == 0
    conf = write(workdir / "agent.yaml", CONFIG)
    # Ctrl-C, as a user would press it, once the agent had time to start.
    timer = threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        code, out = rohe("observation", "start-observation-agent", "--app", "shop", "--conf", str(conf),
                         "--foreground")
    finally:
        timer.cancel()
    assert code == 0 and "running; Ctrl-C stops it" in out, out
    code, out = rohe("observation", "agents", "--json")
    assert [(a["desired"], a["running"]) for a in json_tail(out)] == [("stopped", False)]


def test_windows_and_violations_read_the_local_store(workdir: Path) -> None:
    with Store(f"sqlite:///{workdir / 'data' / 'rohe.db'}") as store:
        store.upgrade()
        ObservationStore(store).save_windows([
            WindowMetrics(app="shop", run="r1", start=T0 + timedelta(seconds=i), end=T0 + timedelta(seconds=i + 1),
                          requests=10 + i, throughput_rps=10.0 + i, accuracy=0.5) for i in range(3)])
    code, out = rohe("observation", "windows", "--app", "shop", "--json", "--limit", "2")
    assert code == 0, out
    assert [w["requests"] for w in json_tail(out)] == [11, 12]
    code, out = rohe("observation", "windows", "--app", "shop")
    assert code == 0 and "3 window(s)" in out
    code, out = rohe("observation", "violations", "--app", "shop", "--json")
    assert code == 0 and json_tail(out) == []
    code, out = rohe("observation", "report", "--app", "shop", "--out", str(workdir / "reports"))
    assert code == 0, out
    page = workdir / "reports" / "shop-report.html"
    assert page.is_file() and "data:image/png;base64" in page.read_text()
    code, out = rohe("observation", "report", "--app", "nobody")
    assert code == 2 and "unknown app" in out


def test_incidents_embedded_and_in_the_report(workdir: Path) -> None:
    alert = RuleAlert("slow", Severity.CRITICAL, "shop", "r1", "gold", "end_to_end.p99_ms", 900.0,
                      T0 + timedelta(seconds=1), "slow: end_to_end.p99_ms = 900 > 500")
    incident = build_incident([], [], [], [alert])
    assert incident is not None
    with Store(f"sqlite:///{workdir / 'data' / 'rohe.db'}") as store:
        store.upgrade()
        ObservationStore(store).save_incidents([incident])
    code, out = rohe("observation", "incidents", "--app", "shop", "--json")
    assert code == 0, out
    assert [i["incident_id"] for i in json_tail(out)] == [str(incident.incident_id)]
    code, out = rohe("observation", "incidents", "--app", "shop", "--run", "r2", "--json")
    assert code == 0 and json_tail(out) == []
    code, out = rohe("observation", "incidents", "--app", "shop")
    assert code == 0 and "1 incident(s) of shop" in out and "critical" in out
    code, out = rohe("observation", "report", "--app", "shop", "--out", str(workdir / "reports"))
    assert code == 0 and "1 incident(s) of shop" in out, out
    page = (workdir / "reports" / "shop-report.html").read_text()
    assert "<h2>Incidents (1)</h2>" in page and "slow: end_to_end.p99_ms = 900 &gt; 500" in page
    code, out = rohe("observation", "incidents", "--app", "nobody")
    assert code == 2 and "unknown app" in out


def test_start_has_an_observation_service_command() -> None:
    code, out = rohe("start", "observation-service", "--help")
    assert code == 0 and "observation" in out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    config = uvicorn.Config(create_app(Settings(data_dir=tmp_path / "server")), host="127.0.0.1", port=port,
                            log_level="warning")
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
    code, out = rohe("observation", "register-app", "--app", "shop", "--url", server, "--output-dir",
                     str(workdir / "meta"))
    assert code == 0, out
    assert (workdir / "meta" / "shop-default.json").is_file()  # written on the client's side
    conf = write(workdir / "agent.yaml", CONFIG)
    code, out = rohe("observation", "start-observation-agent", "--app", "shop", "--conf", str(conf), "--url", server)
    assert code == 0 and "running" in out, out
    batch = [Report(app="shop", run="default", kind=ReportKind.REQUEST, consumer="gold", request_id=f"q{i}",
                    status=RequestStatus.OK, end_to_end_ms=3.0, timestamp=T0 + timedelta(seconds=0.1 * i))
             for i in range(15)]
    posted = httpx.post(f"{server}/observation/apps/shop/reports",
                        json=[r.model_dump(mode="json") for r in batch], timeout=10)
    assert posted.status_code == 202
    code, out = rohe("observation", "stop-observation-agent", "--app", "shop", "--url", server)
    assert code == 0, out
    code, out = rohe("observation", "windows", "--app", "shop", "--url", server, "--json")
    assert code == 0
    windows = json_tail(out)
    assert sum(w["requests"] for w in windows if w["consumer"] == "*") == 15
    code, out = rohe("observation", "violations", "--app", "shop", "--url", server)
    assert code == 0 and "0 violation(s)" in out
    # The same app with a quality rule (a rules file given relative to the agent config) and a slow second.
    (workdir / "conf").mkdir()
    write(workdir / "conf" / "rules.yaml",
          {"rules": [{"name": "slow", "metric": "end_to_end.p99_ms", "operator": ">", "value": 500}]})
    conf = write(workdir / "conf" / "agent.yaml", {**CONFIG, "quality": {"rules": "rules.yaml"}})
    code, out = rohe("observation", "start-observation-agent", "--app", "shop", "--conf", str(conf), "--url", server)
    assert code == 0 and "running" in out, out
    slow = [r.model_copy(update={"request_id": f"s{i}", "end_to_end_ms": 800.0,
                                 "timestamp": r.timestamp + timedelta(seconds=5)}) for i, r in enumerate(batch)]
    httpx.post(f"{server}/observation/apps/shop/reports", json=[r.model_dump(mode="json") for r in slow], timeout=10)
    assert rohe("observation", "stop-observation-agent", "--app", "shop", "--url", server)[0] == 0
    code, out = rohe("observation", "incidents", "--app", "shop", "--url", server, "--json")
    assert code == 0, out
    found = json_tail(out)
    assert {i["consumer"] for i in found} == {"*", "gold"} and len(found) == 4  # two slow windows per stream
    assert all(i["symptoms"][0]["source"] == "rule" for i in found)
    code, out = rohe("observation", "delete-app", "--app", "ghost", "--url", server)
    assert code == 2 and "not registered" in out
    code, out = rohe("observation", "list-apps", "--url", f"http://127.0.0.1:{_free_port()}")
    assert code == 2 and "cannot reach" in out


def test_foreground_agent_stops_cleanly_on_sigterm(workdir: Path) -> None:
    """Kubernetes stops a pod with SIGTERM: the agent must flush and record itself stopped, not die."""
    assert rohe("observation", "register-app", "--app", "shop")[0] == 0
    conf = write(workdir / "agent.yaml", CONFIG)
    timer = threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        code, out = rohe("observation", "start-observation-agent", "--app", "shop", "--conf", str(conf),
                         "--foreground")
    finally:
        timer.cancel()
    assert code == 0 and "running" in out, out
    code, out = rohe("observation", "agents", "--json")
    assert [(a["desired"], a["running"]) for a in json_tail(out)] == [("stopped", False)]


KUBE_CONFIG = {**CONFIG, "transport": {"kind": "mqtt", "url": "mqtt://mosquitto.rohe:1883"}}


def test_agent_for_kubernetes_dry_run_writes_yaml_and_records_nothing(workdir: Path) -> None:
    conf = write(workdir / "agent.yaml", KUBE_CONFIG)
    code, out = rohe("observation", "start-observation-agent", "--app", "shop", "--conf", str(conf),
                     "--target", "kubernetes", "--dry-run", "--out", str(workdir / "k8s"),
                     "--database-url", "postgresql+psycopg://rohe@db.rohe/rohe", "--image", "reg.example/rohe:2")
    assert code == 0, out
    [written] = sorted((workdir / "k8s").glob("*.yaml"))
    kinds = {d["kind"]: d for d in yaml.safe_load_all(written.read_text())}
    assert set(kinds) == {"Namespace", "ConfigMap", "Deployment"}
    [container] = kinds["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "reg.example/rohe:2" and container["command"][-1] == "--foreground"
    assert yaml.safe_load(kinds["ConfigMap"]["data"]["agent.yaml"])["transport"]["kind"] == "mqtt"
    code, out = rohe("observation", "agents", "--json")
    assert json_tail(out) == [], "a Kubernetes agent is not recorded for the local service to run"


def test_agent_for_kubernetes_is_applied_with_a_kubeconfig(workdir: Path) -> None:
    from orchestration.deploy.fake_kube_api import FakeKubeApi

    api = FakeKubeApi().start()
    try:
        kubeconfig = api.write_kubeconfig(workdir / "kubeconfig.yaml")
        conf = write(workdir / "agent.yaml", KUBE_CONFIG)
        code, out = rohe("observation", "start-observation-agent", "--app", "shop", "--conf", str(conf),
                         "--target", "kubernetes", "--kubeconfig", str(kubeconfig), "--namespace", "edge",
                         "--secret", "rohe-db")
        assert code == 0, out
        assert api.names("deployments", "edge") == {"rohe-agent-shop-default"}
        assert api.names("configmaps", "edge") == {"rohe-agent-shop-default-conf"}
    finally:
        api.stop()


def test_agent_for_kubernetes_refuses_bad_input_with_the_field(workdir: Path) -> None:
    conf = write(workdir / "agent.yaml", {**CONFIG, "transport": {"kind": "inproc"}})
    code, out = rohe("observation", "start-observation-agent", "--app", "shop", "--conf", str(conf),
                     "--target", "kubernetes", "--dry-run", "--database-url", "sqlite:///x.db")
    assert code == 2 and "transport.kind" in out and "Traceback" not in out, out
    conf = write(workdir / "agent.yaml", KUBE_CONFIG)
    code, out = rohe("observation", "start-observation-agent", "--app", "shop", "--conf", str(conf),
                     "--target", "kubernetes", "--dry-run")
    assert code == 2 and "--database-url" in out, out
    code, out = rohe("observation", "start-observation-agent", "--app", "shop", "--conf", str(conf),
                     "--target", "mars")
    assert code == 2 and "--target" in out, out
    code, out = rohe("observation", "start-observation-agent", "--app", "shop", "--conf", str(conf),
                     "--target", "kubernetes", "--foreground", "--database-url", "sqlite:///x.db")
    assert code == 2 and "--foreground" in out, out
    assert not (workdir / "manifests").exists()
