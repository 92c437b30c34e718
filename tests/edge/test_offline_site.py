"""Offline-first edge: the central API (a real `rohe start orchestration-service` process) is killed with
SIGKILL for 30 s mid-run and started again. The site's gateway keeps serving on its last members, a gateway
started during the outage comes up from the site cache alone, the site's own agent keeps judging the
contracts, and once the central service is back the gateway follows its placements again. Reports also go
up to the central agent (MQTT on the shared Mosquitto, normal traffic); it resumes after the kill.

Jepsen-style check: every request the client sent is in its history with its answer; none failed, and both
the site store's and the central store's windows count exactly the requests the client saw answered (none
lost, none counted twice).
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from pathlib import Path

import httpx
import yaml
from site_farm import NODES, SAMPLE, Central, Replica, catalog, contract, free_port, node_doc, pipeline, service_doc

from rohe.core.background_server import BackgroundServer
from rohe.core.config import Settings
from rohe.edge import SiteCache, TeeSink, central_registration, uplink_probe
from rohe.observation.embedded import finish, observed_run
from rohe.platform import Platform
from rohe.serving.dataplane import ModelEndpoints
from rohe.serving.gateway import ServingGateway, create_gateway_app
from rohe.serving.gateway.endpoints_watch import EndpointFollower, PlacementClient, bootstrap
from rohe.serving.gateway.replica_urls import UrlTemplate

OUTAGE_S = 30.0
BROKER = "mqtt://127.0.0.1:1883"


class Client:
    """Sends one request every `period_s` until stopped and keeps the whole history."""

    def __init__(self, url: str, period_s: float = 0.1) -> None:
        self.url, self.period_s = url, period_s
        self.history: list[tuple[float, str, int, str, int | None]] = []  # (t, id, http, status, class)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as http:
            i = 0
            while not self._stop.is_set():
                request_id = f"q-{i}"
                try:
                    reply = http.post("/infer", json={"consumer": "cam", "input": SAMPLE, "request_id": request_id})
                    body = reply.json()
                    self.history.append((time.time(), request_id, reply.status_code, body.get("status", "?"),
                                         body.get("predicted_class")))
                except httpx.HTTPError as exc:
                    self.history.append((time.time(), request_id, 0, type(exc).__name__, None))
                i += 1
                self._stop.wait(self.period_s)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)

    def since(self, t: float) -> list[tuple[float, str, int, str, int | None]]:
        return [h for h in self.history if h[0] >= t]


def wait_for(condition: object, timeout: float, what: str) -> None:
    give_up = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < give_up, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_the_site_serves_through_a_central_outage_and_loses_no_report(tmp_path: Path) -> None:
    port = free_port(NODES[0], NODES[1])
    replicas = [Replica(NODES[0], port, answer=1), Replica(NODES[1], port, answer=2)]
    central = Central(tmp_path / "central").start()
    contract_file = tmp_path / "cam.yaml"
    contract_file.write_text(yaml.safe_dump(contract().model_dump(mode="json", exclude_none=True)))
    site = Platform.open(Settings(data_dir=tmp_path / "site"))
    spec = pipeline(port)
    cache = SiteCache(tmp_path / "site" / "edge")
    resolver = UrlTemplate("http://{node}:{port}")
    api = httpx.Client(base_url=central.url, timeout=30)
    try:
        api.post("/orchestration/nodes", json=[node_doc(NODES[0]), node_doc(NODES[1])]).raise_for_status()
        api.post("/orchestration/services", json=service_doc(port, replicas=2)).raise_for_status()
        api.post("/orchestration/place").raise_for_status()
        members = asyncio.run(bootstrap(PlacementClient(central.url), resolver, spec, cache))
        assert sorted(members["m"]) == sorted(r.url for r in replicas)
        # The central agent of this run listens on the broker; a run name of its own keeps broker sessions apart.
        run = f"edge-{uuid.uuid4().hex[:8]}"
        app_path = f"/observation/apps/{spec.application}"
        api.post("/observation/apps", json={"app": spec.application, "run": run, "transport": "mqtt",
                                            "broker_url": BROKER}).raise_for_status()
        api.post(f"{app_path}/agent/start", json={"run": run, "windows": [{"kind": "tumbling", "size_s": 1}],
                                                  "allowed_lateness_s": 0.5, "idle_close_s": 2}).raise_for_status()
        registration = central_registration(central.url, spec.application, run, cache)
        uplink = uplink_probe(registration, tmp_path / "site" / "spill", service="gateway", node="site-1",
                              max_in_memory=50)

        with observed_run(site.observation, spec.application, run, [contract_file], window_s=1.0) as observed:
            gateway = ServingGateway(spec, catalog(), [contract()], ModelEndpoints(members), run=run,
                                     sink=TeeSink([observed.probe, uplink]))
            follower = EndpointFollower(gateway, PlacementClient(central.url, timeout_s=1.0), resolver,
                                        interval_s=0.5, cache=cache)
            with BackgroundServer(create_gateway_app(gateway, follower=follower)) as server:
                client = Client(server.url)
                client.start()
                time.sleep(2.0)

                central.kill()  # SIGKILL: no goodbye, the port just stops answering
                down_at = time.time()
                wait_for(lambda: not follower.status.online, 20, "the follower to notice the outage")
                # A gateway (re)started now has only the site cache to go on.
                restarted = asyncio.run(bootstrap(PlacementClient(central.url, timeout_s=1.0), resolver, spec, cache))
                assert sorted(restarted["m"]) == sorted(members["m"])
                time.sleep(max(0.0, OUTAGE_S - (time.time() - down_at)))

                central.start()  # same data dir and port: the placements survived in its store
                up_at = time.time()
                wait_for(lambda: follower.status.online, 60, "the follower to reconnect")
                assert follower.status.failures >= 1
                # Follows again: node B drained, its replica has nowhere else to go (spread) and is queued.
                api.post(f"/orchestration/nodes/{NODES[1]}/drain").raise_for_status()
                wait_for(lambda: gateway.endpoints.active() == {"m": [replicas[0].url]}, 30, "the drain to arrive")
                moved_at = time.time()
                time.sleep(1.0)
                client.stop()

            served = client.history
            during = [h for h in served if down_at <= h[0] < up_at]
            assert len(during) >= 20  # the outage really was served through
            failed = [h for h in served if h[2] != 200 or h[3] != "ok"]
            assert failed == []
            assert {h[4] for h in client.since(moved_at + 0.5)} == {1}  # the drained replica takes nothing new
            finish(site.observation, observed)
            windows = site.observation.windows(spec.application, run, "cam")
            assert sum(w.requests for w in windows) == len(served)
            assert sum(w.errors for w in windows) == 0

        uplink.close()
        assert uplink.stats.backlog == 0
        # The central agent has taken everything the broker holds once it stays quiet with nothing unacked.
        seen: list[tuple[int, int]] = []

        def quiet() -> bool:
            stats = api.get("/observation/agents").json()[0]["stats"]
            seen.append((stats.get("received", -1), stats.get("unacked", -1)))
            time.sleep(0.5)
            return len(seen) >= 4 and len(set(seen[-4:])) == 1 and seen[-1][1] == 0

        wait_for(quiet, 60, "the central agent to take the uplink's reports")
        before_stop = api.get("/observation/agents").json()
        api.post(f"{app_path}/agent/stop", params={"run": run}).raise_for_status()  # stores its last window
        stored = api.get(f"{app_path}/windows", params={"run": run, "consumer": "cam"}).json()
        spans = " ".join(f'{str(w.get("start"))[11:19]}:{w["requests"]}' for w in stored)
        total = sum(w["requests"] for w in stored)
        outage = f"{time.strftime('%H:%M:%S', time.gmtime(down_at))}-{time.strftime('%H:%M:%S', time.gmtime(up_at))}"
        assert total == len(served), f"{total} != {len(served)}\n{spans}\n{before_stop}\noutage {outage}"
    finally:
        api.close()
        central.stop()
        site.close()
        for replica in replicas:
            replica.stop()
