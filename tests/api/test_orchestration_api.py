"""The orchestration routes: happy paths, 4xx with details for bad input, tokens, and restarts."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from factories import node_doc, service_doc
from rohe.api.app import create_app
from rohe.core.config import Settings

TOKEN = "s3cret-api-token-for-tests"  # as tests/api/conftest.py's secured client

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "rohe-inputs" / "orchestration_command"


def test_register_place_and_read_back(client: TestClient) -> None:
    assert client.post("/orchestration/nodes", json={"nodes": [node_doc("a"), node_doc("b")]}).status_code == 201
    response = client.post(
        "/orchestration/services", json=[service_doc("web", replicas=3)], params={"application": "shop"}
    )
    assert response.status_code == 201 and response.json() == {"added": ["web"]}

    plan = client.post("/orchestration/plan").json()
    assert sum(1 for e in plan["entries"] if e["node"]) == 3
    assert {r["status"] for r in client.get("/orchestration/replicas").json()} == {"queueing"}

    placed = client.post("/orchestration/place").json()
    assert len(placed["placed"]) == 3
    nodes = client.get("/orchestration/nodes").json()
    assert sum(n["cpu_used"] for n in nodes) == 1500
    assert all(n["cpu_free"] == 4000 - n["cpu_used"] for n in nodes)
    assert client.get("/orchestration/services/web").json()["application"] == "shop"


def test_original_rohe_files_are_accepted(client: TestClient) -> None:
    import yaml

    nodes = yaml.safe_load((SHARED / "add_node.yaml").read_text())
    services = yaml.safe_load((SHARED / "add_service.yaml").read_text())
    assert client.post("/orchestration/nodes", json=nodes).status_code == 201
    assert client.post("/orchestration/services", json=services).status_code == 201
    assert len(client.get("/orchestration/nodes").json()) == 10


def test_bad_input_is_a_4xx_naming_the_field_and_changes_nothing(client: TestClient) -> None:
    client.post("/orchestration/nodes", json=node_doc("a"))
    bad = node_doc("b")
    bad["memory"]["rss"] = -5
    response = client.post("/orchestration/nodes", json={"nodes": [bad]})
    assert response.status_code == 422
    body = response.json()
    assert any("rss" in p["location"] for p in body["problems"]), body

    unknown = node_doc("c") | {"colour": "red"}
    response = client.post("/orchestration/nodes", json=unknown)
    assert response.status_code == 422 and "colour" in response.text

    duplicate = client.post("/orchestration/nodes", json=node_doc("a"))
    assert duplicate.status_code == 409 and "a" in duplicate.json()["message"]

    assert client.delete("/orchestration/nodes/ghost").status_code == 404
    assert client.delete("/orchestration/services/ghost").status_code == 404
    assert client.post("/orchestration/plan", params={"algorithm": "nope"}).status_code == 422
    not_json = client.post("/orchestration/nodes", content=b"{nope", headers={"content-type": "application/json"})
    assert 400 <= not_json.status_code < 500
    assert [n["node"]["name"] for n in client.get("/orchestration/nodes").json()] == ["a"]


def test_every_route_but_health_needs_the_token_when_one_is_set(secured: TestClient) -> None:
    assert secured.post("/orchestration/nodes", json=node_doc("a")).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert secured.post("/orchestration/nodes", json=node_doc("a"), headers=wrong).status_code == 401
    right = {"Authorization": f"Bearer {TOKEN}"}
    assert secured.post("/orchestration/nodes", json=node_doc("a"), headers=right).status_code == 201
    assert secured.get("/orchestration/nodes").status_code == 401  # reads too: they show the cluster
    assert secured.get("/orchestration/nodes", headers=right).status_code == 200
    assert secured.get("/health").status_code == 200
    assert secured.post("/orchestration/agent/start").status_code == 401


def test_state_and_agent_survive_a_restart(settings: Settings) -> None:
    with TestClient(create_app(settings)) as first:
        first.post("/orchestration/nodes", json=node_doc("a"))
        first.post("/orchestration/services", json=service_doc("web", replicas=2))
        first.post("/orchestration/place")
        assert first.post("/orchestration/agent/start").json()["running"] is True
    with TestClient(create_app(settings)) as second:
        assert second.get("/orchestration/agent").json()["running"] is True
        replicas = second.get("/orchestration/replicas").json()
        assert [r["allocation"]["node"] for r in replicas] == ["a", "a"]
        assert second.post("/orchestration/agent/stop").json()["running"] is False
    with TestClient(create_app(settings)) as third:
        assert third.get("/orchestration/agent").json()["running"] is False


def test_openapi_lists_the_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/orchestration/nodes",
        "/orchestration/services",
        "/orchestration/plan",
        "/orchestration/agent/start",
    ):
        assert path in paths
