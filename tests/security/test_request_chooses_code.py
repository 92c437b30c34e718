"""Attack: a request body or query string names code (a dotted path) and the server imports and runs it."""

from __future__ import annotations

import sys

from attack_kit import AGENT, AUTH, TOKEN, MakeClient
from fastapi.testclient import TestClient

from rohe.core.config import ApiSettings


def test_agent_parser_os_system_is_refused(registered: TestClient) -> None:
    reply = registered.post("/observation/apps/shop/agent/start", json={**AGENT, "parser": "os:system"})
    assert reply.status_code == 422
    assert reply.json()["problems"][0]["location"] == "parser"
    assert registered.get("/observation/agents").json() == []  # nothing recorded to resume later


def test_window_function_dotted_path_is_refused_and_never_imported(registered: TestClient) -> None:
    sys.modules.pop("import_marker", None)
    config = {**AGENT, "window_functions": {"x": "import_marker:Anything"}}
    reply = registered.post("/observation/apps/shop/agent/start", json=config)
    assert reply.status_code == 422 and reply.json()["problems"][0]["location"] == "window_functions.x"
    assert "import_marker" not in sys.modules


def test_plan_algorithm_needs_the_token_and_imports_nothing(make_client: MakeClient) -> None:
    sys.modules.pop("import_marker", None)
    secured = make_client(api=ApiSettings(token=TOKEN))
    assert secured.post("/orchestration/plan", params={"algorithm": "import_marker:Anything"}).status_code == 401
    assert "import_marker" not in sys.modules
    reply = secured.post("/orchestration/plan", params={"algorithm": "import_marker:Anything"}, headers=AUTH)
    assert reply.status_code == 422 and reply.json()["problems"][0]["location"] == "algorithm"
    assert "import_marker" not in sys.modules


def test_plan_with_a_stdlib_class_is_a_422_not_a_500(client: TestClient) -> None:
    for route in ("/orchestration/plan", "/orchestration/place"):
        reply = client.post(route, params={"algorithm": "ipaddress:IPv4Address"})
        assert reply.status_code == 422, reply.text
        assert "api.plugins" in reply.json()["problems"][0]["hint"]


def test_an_operator_allow_listed_plugin_is_accepted(make_client: MakeClient) -> None:
    client = make_client(api=ApiSettings(plugins=["json:loads"]))
    client.post("/observation/apps", json={"app": "shop"})
    assert client.post("/observation/apps/shop/agent/start", json={**AGENT, "parser": "json:loads"}).status_code == 200
    assert client.post("/orchestration/plan", params={"algorithm": "balanced"}).status_code == 200  # built-in
