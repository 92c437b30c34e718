"""The observation routes: registration, agents, windows, violations, incidents, /metrics, 4xx details, tokens,
restarts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from rohe.api.app import create_app
from rohe.core.config import Settings
from rohe.observation.reports import Report, ReportKind, RequestStatus
from rohe.observation.violations import Violation
from rohe.platform import Platform

TOKEN = "s3cret-api-token-for-tests"  # as tests/api/conftest.py's secured client

CONFIG: dict[str, Any] = {"windows": [{"size_s": 1}], "allowed_lateness_s": 0, "idle_close_s": None}
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)


def reports(app: str, count: int, run: str = "default") -> list[dict[str, Any]]:
    return [
        Report(app=app, run=run, kind=ReportKind.REQUEST, consumer="gold", request_id=f"q{i}", status=RequestStatus.OK,
               end_to_end_ms=5.0 + i, predicted_class="dog", confidence=0.9,
               timestamp=T0 + timedelta(seconds=0.1 * i)).model_dump(mode="json")
        for i in range(count)
    ]


def test_register_read_and_delete(client: TestClient) -> None:
    created = client.post("/observation/apps", json={"app": "shop", "run": "r1", "user": "alice"})
    assert created.status_code == 201
    body = created.json()
    assert body["probe"]["transport"] == {"kind": "inproc", "url": None, "channel": "rohe.obs.shop.r1"}
    again = client.post("/observation/apps", json={"app": "shop", "run": "r1", "user": "bob", "transport": "nats"})
    assert again.json()["app_id"] == body["app_id"] and again.json()["probe"]["transport"]["kind"] == "nats"
    assert [a["user"] for a in client.get("/observation/apps").json()] == ["bob"]
    assert client.get("/observation/apps/shop", params={"run": "r1"}).json()["user"] == "bob"
    missing = client.get("/observation/apps/shop")  # run 'default' was never registered
    assert missing.status_code == 404 and missing.json()["problems"][0]["location"] == "app"
    deleted = client.delete("/observation/apps/shop", params={"keep_metrics": "false"})
    assert deleted.json() == {"removed": [{"app": "shop", "run": "r1"}], "kept_metrics": False}
    assert client.delete("/observation/apps/shop").status_code == 404


def test_bad_input_is_a_4xx_with_details(client: TestClient) -> None:
    no_app = client.post("/observation/apps", json={"run": "r1"})
    assert no_app.status_code == 422 and no_app.json()["detail"][0]["loc"] == ["body", "app"]
    secret = client.post("/observation/apps", json={"app": "a", "transport": "amqp",
                                                    "broker_url": "amqp://u:pw@mq:5672/"})
    assert secret.status_code == 422 and secret.json()["problems"][0]["location"] == "broker_url"
    assert "pw@" not in secret.text
    assert client.post("/observation/apps", json={"app": "a", "transport": "smoke"}).status_code == 422
    unknown = client.post("/observation/apps/ghost/agent/start", json=CONFIG)
    assert unknown.status_code == 404
    client.post("/observation/apps", json={"app": "a"})
    bad = client.post("/observation/apps/a/agent/start", json={"windows": [{"kind": "sliding", "size_s": 1}]})
    assert bad.status_code == 422
    assert bad.json()["problems"][0]["location"].startswith("windows[0]")
    assert client.post("/observation/apps/a/agent/stop").status_code == 404
    assert client.get("/observation/apps/nobody/windows").status_code == 404
    assert client.get("/observation/apps/a/windows", params={"since": "yesterday"}).status_code == 422


def test_agent_over_http_reports_windows_and_metrics(client: TestClient) -> None:
    client.post("/observation/apps", json={"app": "shop"})
    started = client.post("/observation/apps/shop/agent/start", json=CONFIG)
    assert started.status_code == 200 and started.json()["running"] is True
    assert client.post("/observation/apps/shop/reports", json=reports("shop", 25)).json() == {"accepted": 25}
    closed = client.get("/observation/apps/shop/windows", params={"consumer": "*"}).json()
    assert sum(w["requests"] for w in closed) == 20
    agents = client.get("/observation/agents").json()
    assert agents[0]["stats"]["received"] == 25 and agents[0]["desired"] == "running"

    families = {f.name: f for f in text_string_to_metric_families(client.get("/observation/metrics").text)}
    counted = [s.value for s in families["rohe_requests"].samples
               if s.name == "rohe_requests_total" and s.labels["app"] == "shop" and s.labels["consumer"] == "*"]
    assert counted == [20.0]
    received = [s.value for s in families["rohe_agent_reports_received"].samples if s.name.endswith("_total")]
    assert received == [25.0]

    stopped = client.post("/observation/apps/shop/agent/stop").json()
    assert stopped[0]["running"] is False and stopped[0]["desired"] == "stopped"
    everything = client.get("/observation/apps/shop/windows", params={"consumer": "*"}).json()
    assert sum(w["requests"] for w in everything) == 25
    newest = client.get("/observation/apps/shop/windows", params={"consumer": "*", "limit": 1}).json()
    assert newest == everything[-1:]
    since = client.get("/observation/apps/shop/windows",
                       params={"since": (T0 + timedelta(seconds=1.5)).isoformat(), "consumer": "*"}).json()
    assert [w["start"] for w in since] == [w["start"] for w in everything[1:]]
    assert client.post("/observation/apps/shop/reports", json=reports("shop", 1)).status_code == 404


def test_violations_route_returns_stored_violations(settings: Settings) -> None:
    platform = Platform.open(settings)
    try:
        with TestClient(create_app(settings, platform)) as client:
            client.post("/observation/apps", json={"app": "shop"})
            violation = Violation(app="shop", run="default", consumer="gold", clause="throughput_rps >= 10",
                                  metric="throughput_rps", operator=">=", threshold=10, observed=None,
                                  window_start=T0, window_end=T0 + timedelta(seconds=1), explanation="no data")
            platform.observation.store.save_violations([violation])
            found = client.get("/observation/apps/shop/violations").json()
            assert [Violation.model_validate(v) for v in found] == [violation]
            assert client.get("/observation/apps/shop/violations", params={"run": "other"}).json() == []
    finally:
        platform.close()


def slow_after(app: str, count: int, slow_from: int) -> list[dict[str, Any]]:
    """Requests 0.1 s apart whose latency jumps to 900 ms from request `slow_from` on."""
    return [
        Report(app=app, run="default", kind=ReportKind.REQUEST, consumer="gold", request_id=f"s{i}",
               status=RequestStatus.OK, end_to_end_ms=900.0 if i >= slow_from else 20.0,
               timestamp=T0 + timedelta(seconds=0.1 * i)).model_dump(mode="json")
        for i in range(count)
    ]


def test_incidents_of_an_agent_with_quality_rules_over_http(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    rules = [{"name": "slow", "metric": "end_to_end.p99_ms", "operator": ">", "value": 500}]
    with TestClient(create_app(settings)) as client:
        client.post("/observation/apps", json={"app": "shop"})
        bad = client.post("/observation/apps/shop/agent/start",
                          json={**CONFIG, "quality": {"rules": [{"name": "x", "metric": "nope", "value": 1}]}})
        assert bad.status_code == 422 and bad.json()["problems"][0]["location"].startswith("quality.rules[0]")
        started = client.post("/observation/apps/shop/agent/start", json={**CONFIG, "quality": {"rules": rules}})
        assert started.status_code == 200
        client.post("/observation/apps/shop/reports", json=slow_after("shop", 25, slow_from=10))
        client.post("/observation/apps/shop/agent/stop")
        found = client.get("/observation/apps/shop/incidents", params={"consumer": "gold"}).json()
        # Windows [1,2) and [2,3) (the last flushed on stop) are slow; [0,1) is not. Rule alerts carry window ends.
        assert [datetime.fromisoformat(i["window_end"]) for i in found] == [T0 + timedelta(seconds=s) for s in (2, 3)]
        assert all(i["symptoms"][0]["source"] == "rule" and i["severity"] == "warning" for i in found)
        assert client.get("/observation/apps/shop/incidents", params={"run": "other"}).json() == []
        assert client.get("/observation/apps/ghost/incidents").status_code == 404
        client.post("/observation/apps/shop/agent/start", json={**CONFIG, "quality": {"rules": rules}})
    with TestClient(create_app(settings)) as second:  # the stored quality section resumes with the agent
        assert [a["running"] for a in second.get("/observation/agents").json()] == [True]


def test_every_route_but_health_needs_the_token(secured: TestClient) -> None:
    assert secured.post("/observation/apps", json={"app": "shop"}).status_code == 401
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert secured.post("/observation/apps", json={"app": "shop"}, headers=auth).status_code == 201
    assert secured.get("/observation/apps").status_code == 401
    assert secured.get("/observation/apps", headers=auth).status_code == 200
    assert secured.get("/observation/metrics", headers=auth).status_code == 200
    assert secured.post("/observation/apps/shop/agent/start", json=CONFIG).status_code == 401
    assert secured.post("/observation/apps/shop/agent/start", json=CONFIG, headers=auth).status_code == 200
    assert secured.post("/observation/apps/shop/agent/stop").status_code == 401
    assert secured.delete("/observation/apps/shop").status_code == 401
    assert secured.delete("/observation/apps/shop", headers=auth).status_code == 200


def test_a_restarted_service_resumes_its_agents(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    with TestClient(create_app(settings)) as first:
        first.post("/observation/apps", json={"app": "shop"})
        first.post("/observation/apps/shop/agent/start", json=CONFIG)
        first.post("/observation/apps/shop/reports", json=reports("shop", 12))
    with TestClient(create_app(settings)) as second:
        agents = second.get("/observation/agents").json()
        assert [(a["app"], a["running"]) for a in agents] == [("shop", True)]
        windows = second.get("/observation/apps/shop/windows", params={"consumer": "*"}).json()
        assert sum(w["requests"] for w in windows) == 12  # the first process flushed its open window at shutdown
