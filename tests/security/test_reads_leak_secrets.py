"""Attack: read routes hand out secrets: a broker token in the URL's user part or a password in its query
passed the "no password in the URL" check, and a service's env (DB_PASSWORD) was served as given."""

from __future__ import annotations

import pytest
from attack_kit import AUTH, TOKEN, MakeClient
from fastapi.testclient import TestClient

from rohe.core.config import ApiSettings
from rohe.core.redact import REDACTED, redact_url
from rohe.observation.registration import AppRegistration, ProbeConfig, TransportConfig, app_id
from rohe.platform import Platform

LEAKY_URLS = [
    "nats://s3cr3tNatsToken@broker:4222",
    "mqtt://u@h:1883/?password=s3cr3tPassword",
    "mqtt://h:1883/?token=s3cr3tToken&keepalive=30",
]


@pytest.mark.parametrize("url", LEAKY_URLS)
def test_a_broker_url_with_credentials_is_refused(client: TestClient, url: str) -> None:
    reply = client.post("/observation/apps", json={"app": "shop", "transport": "nats", "broker_url": url})
    assert reply.status_code == 422 and reply.json()["problems"][0]["location"] == "broker_url"
    assert "s3cr3t" not in reply.text
    assert "s3cr3t" not in client.get("/observation/apps").text


def test_a_stored_registration_with_credentials_is_served_redacted(make_client: MakeClient) -> None:
    client = make_client()
    platform: Platform = client.app.state.platform  # type: ignore[attr-defined]
    # A registration stored before the check existed (built directly, past build_registration's refusal).
    transport = TransportConfig(kind="nats", url=LEAKY_URLS[0], channel="rohe.obs.shop.default")
    legacy = AppRegistration(app_id=app_id("shop", "default"), app="shop", run="default", user="u",
                             url="http://admin:s3cr3tAdmin@gw:5020", namespace="rohe_obs_shop_default",
                             probe=ProbeConfig(transport=transport, channels={"nats": "rohe.obs.shop.default"}))
    platform.observation.store.save_app(legacy)
    for route in ("/observation/apps", "/observation/apps/shop"):
        body = client.get(route).text
        assert "s3cr3t" not in body and "broker:4222" in body, body


def test_service_env_secrets_are_redacted_in_responses(make_client: MakeClient) -> None:
    client = make_client(api=ApiSettings(token=TOKEN))
    service = {"name": "db-client", "command": ["true"], "env": {
        "DB_PASSWORD": "s3cr3tDbPassword", "API_KEY": "s3cr3tKey", "LOG_LEVEL": "debug",
        "DATABASE_URL": "postgresql://app:s3cr3tInUrl@db:5432/app"}}
    assert client.post("/orchestration/services", json=service, headers=AUTH).status_code == 201
    assert client.get("/orchestration/services").status_code == 401  # reads need the token when one is set
    for route in ("/orchestration/services", "/orchestration/services/db-client"):
        reply = client.get(route, headers=AUTH)
        assert reply.status_code == 200 and "s3cr3t" not in reply.text
        env = (reply.json()[0] if isinstance(reply.json(), list) else reply.json())["env"]
        assert env["DB_PASSWORD"] == REDACTED and env["LOG_LEVEL"] == "debug"
        assert env["DATABASE_URL"] == f"postgresql://{REDACTED}@db:5432/app"


def test_redact_url_keeps_the_shape() -> None:
    assert redact_url("mqtt://u@h:1883/x?password=p&qos=1") == f"mqtt://{REDACTED}@h:1883/x?password={REDACTED}&qos=1"
    assert redact_url("nats://127.0.0.1:4222") == "nats://127.0.0.1:4222"
