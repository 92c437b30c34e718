"""Attack: a weak token (a single space, a few characters) was accepted, and odd Authorization headers reached
code that could fail. Tokens are checked at config load; the guard answers 401, never 500."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from attack_kit import AUTH, TOKEN, MakeClient

from rohe.core.config import ApiSettings, load_settings
from rohe.core.errors import InvalidInput


@pytest.mark.parametrize("token", [" ", "", "\t\n", "short", "has a space in it 0123", "tökenwithumlaut-0123456"])
def test_a_weak_token_is_refused_at_config_load(
    token: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ROHE_API__TOKEN", token)
    with pytest.raises(InvalidInput) as caught:
        load_settings()
    assert caught.value.problems[0].location == "api.token"
    assert "at least 16" in str(caught.value)


def test_the_server_refuses_to_start_with_a_blank_token(tmp_path: Path) -> None:
    env = {**os.environ, "ROHE_API__TOKEN": " ", "PYTHONPATH": os.pathsep.join(sys.path)}
    # A real process: with the old code it would serve (and this would time out instead of exiting).
    result = subprocess.run(
        [sys.executable, "-c", "from rohe.cli.main import app; app(prog_name='rohe')", "start",
         "orchestration-service", "--port", str(free_port())],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode != 0 and "api.token" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_a_good_token_loads() -> None:
    assert ApiSettings(token=TOKEN).token == TOKEN


ODD_HEADERS = [b"Bearer t\xf6ken", b"Bearer  ", b"Basic " + TOKEN.encode(), b"Bearer" + b"x" * 5000]


@pytest.mark.parametrize("header", ODD_HEADERS)
def test_odd_authorization_headers_are_401_not_500(make_client: MakeClient, header: bytes) -> None:
    client = make_client(api=ApiSettings(token=TOKEN))
    reply = client.get("/orchestration/nodes", headers=[(b"authorization", header)])
    assert reply.status_code == 401 and reply.headers["www-authenticate"] == "Bearer"
    assert client.get("/orchestration/nodes", headers=AUTH).status_code == 200


def test_with_a_token_every_route_but_health_needs_it(make_client: MakeClient) -> None:
    client = make_client(api=ApiSettings(token=TOKEN))
    assert client.get("/health").status_code == 200
    for path in ("/orchestration/services", "/orchestration/algorithms", "/observation/apps", "/observation/agents",
                 "/observation/metrics", "/orchestration/agent", "/openapi.json", "/docs"):
        assert client.get(path).status_code == 401, path
        assert client.get(path, headers=AUTH).status_code == 200, path
    assert client.post("/orchestration/plan").status_code == 401
