"""Clients for the attack tests: the real API app over its ASGI interface, server errors returned (not raised),
so a 500 is seen as the attacker sees it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from attack_kit import MakeClient
from fastapi.testclient import TestClient

from rohe.api.app import create_app
from rohe.core.config import ApiSettings, ObservationSettings, Settings


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[MakeClient]:
    """`make_client(api=..., observation=...)`: a started app on its own data dir (tmp_path/data)."""
    with ExitStack() as stack:

        def make(api: ApiSettings | None = None, observation: ObservationSettings | None = None) -> TestClient:
            settings = Settings(data_dir=tmp_path / "data", api=api or ApiSettings(),
                                observation=observation or ObservationSettings())
            settings.ensure_data_dir()
            return stack.enter_context(TestClient(create_app(settings), raise_server_exceptions=False))

        yield make


@pytest.fixture
def client(make_client: MakeClient) -> TestClient:
    """No token (loopback): only the allow-lists stand between a request and the server's code and secrets."""
    return make_client()


@pytest.fixture
def registered(client: TestClient) -> TestClient:
    assert client.post("/observation/apps", json={"app": "shop"}).status_code == 201
    return client
