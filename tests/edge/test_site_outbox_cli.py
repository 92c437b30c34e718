"""`rohe start serving-service --follow CENTRAL --site NAME` runs the site's outbox: the contract violations its
own agent judges and the policy changes made at its gateway while the central API is SIGKILLed reach the
centre once it is back, under the site's name, each once; `rohe observation site-events --url` lists them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import yaml
from site_farm import NODES, SAMPLE, Central, Replica, _env, catalog, contract, free_port, node_doc, service_doc
from typer.testing import CliRunner

from rohe.cli.main import app as cli
from rohe.core.profiles import save_catalog
from rohe.core.storage import Store
from rohe.observation.store import ObservationStore

SITE = "edge-cli"


def _inputs(tmp_path: Path, port: int) -> list[str]:
    pipeline = {"application": "edge-test", "stages": [{"name": "inference", "services": ["svc-m"]}],
                "modalities": [{"name": "image", "models": {"m": "svc-m"}}],
                "services": [{"name": "svc-m", "image": "x", "ports": [port]}]}
    (tmp_path / "pipeline.yaml").write_text(yaml.safe_dump(pipeline))
    # A 20 ms deadline the 60 ms replica always misses: every window of the site's agent is a violation.
    tight = contract(deadline_ms=20).model_dump(mode="json", exclude_none=True)
    (tmp_path / "cam.yaml").write_text(yaml.safe_dump(tight))
    save_catalog(catalog(), tmp_path / "profiles.csv")
    return ["--pipeline", str(tmp_path / "pipeline.yaml"), "--contracts", str(tmp_path / "cam.yaml"),
            "--profiles", str(tmp_path / "profiles.csv")]


def _load(url: str, stop: threading.Event) -> None:
    with httpx.Client(base_url=url, timeout=10) as http:
        while not stop.is_set():
            http.post("/infer", json={"consumer": "cam", "input": SAMPLE, "deadline_ms": 5000})
            stop.wait(0.05)


def _listed(url: str) -> list[dict[str, object]]:
    events: list[dict[str, object]] = httpx.get(f"{url}/observation/site-events", params={"site": SITE}).json()
    return events


def test_a_site_gateway_reports_its_offline_violations_and_policy_changes(tmp_path: Path) -> None:
    port = free_port(NODES[0])
    replica = Replica(NODES[0], port, answer=1, delay=0.06)
    central = Central(tmp_path / "central").start()
    gateway_port = free_port("127.0.0.1")
    gateway_url = f"http://127.0.0.1:{gateway_port}"
    env = _env(ROHE_DATA_DIR=str(tmp_path / "site"))
    env.pop("ROHE_API__TOKEN", None)
    gateway: subprocess.Popen[bytes] | None = None
    stop = threading.Event()
    try:
        api = httpx.Client(base_url=central.url, timeout=30)
        api.post("/orchestration/nodes", json=[node_doc(NODES[0])]).raise_for_status()
        api.post("/orchestration/services", json=service_doc(port)).raise_for_status()
        api.post("/orchestration/place").raise_for_status()
        gateway = subprocess.Popen(
            [sys.executable, "-m", "rohe.cli.main", "start", "serving-service", *_inputs(tmp_path, port),
             "--follow", central.url, "--resolver", "template", "--replica-url", "http://{node}:{port}",
             "--site", SITE, "--window", "1", "--port", str(gateway_port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        give_up = time.monotonic() + 60
        while True:
            assert gateway.poll() is None and time.monotonic() < give_up, "the gateway did not come up"
            try:
                if httpx.get(f"{gateway_url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        load = threading.Thread(target=_load, args=(gateway_url, stop), daemon=True)
        load.start()
        time.sleep(2.5)
        assert any(e["kind"] == "violation" for e in _listed(central.url))  # online: they go up as judged

        central.kill()
        for degrade in (True, False):  # the site degrades the consumer and restores it, offline
            reply = httpx.post(f"{gateway_url}/consumers/cam/policy", json={"degrade": degrade}, timeout=10)
            assert reply.status_code == 200
        time.sleep(1.5)
        central.start()
        time.sleep(1.0)
        stop.set()
        load.join(15)
        gateway.send_signal(signal.SIGTERM)  # the agent stores its last window; the outbox's last pass sends it
        assert gateway.wait(60) == 128 + signal.SIGTERM  # rohe.core.shutdown: unwound, then exited

        with Store(f"sqlite:///{tmp_path / 'site' / 'rohe.db'}") as store:
            judged = ObservationStore(store).list_violations("edge-test")
        listed = _listed(central.url)
        ids = [e["event_id"] for e in listed]
        assert len(ids) == len(set(ids))
        assert {f"violation:{v.violation_id}" for v in judged} == {i for i in ids if str(i).startswith("violation:")}
        assert len(judged) >= 3
        policies = [e["payload"] for e in listed if e["kind"] == "policy"]
        assert [(p["consumer"], p["degrade"]) for p in policies] == [("cam", True), ("cam", False)]

        shown = CliRunner().invoke(cli, ["observation", "site-events", "--url", central.url, "--kind", "policy"],
                                   env={"COLUMNS": "250", "ROHE_DATA_DIR": str(tmp_path / "cli")})
        assert shown.exit_code == 0, shown.output
        assert "2 site event(s)" in shown.output and SITE in shown.output
    finally:
        stop.set()
        if gateway is not None and gateway.poll() is None:
            os.kill(gateway.pid, signal.SIGKILL)
            gateway.wait()
        central.stop()
        replica.stop()


def test_a_bad_site_name_or_report_url_is_refused_before_anything_starts(tmp_path: Path) -> None:
    args = ["start", "serving-service", *_inputs(tmp_path, 9000), "--endpoint", "m=http://127.0.0.1:9"]
    env = {"ROHE_DATA_DIR": str(tmp_path / "site")}
    bad_site = CliRunner().invoke(cli, [*args, "--report-to", "http://127.0.0.1:9", "--site", "edge a/b"], env=env)
    assert bad_site.exit_code != 0 and "--site" in bad_site.output and "Traceback" not in bad_site.output
    bad_url = CliRunner().invoke(cli, [*args, "--report-to", "ftp://centre", "--site", "edge-a"], env=env)
    assert bad_url.exit_code != 0 and "--report-to" in bad_url.output and "Traceback" not in bad_url.output
    assert not (tmp_path / "site" / "edge" / "outbox").exists()
