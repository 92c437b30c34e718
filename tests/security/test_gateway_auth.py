"""Attack surface of the serving gateway: it imported the api layer for its token guard (a service depending on
a higher layer), and with a token set only one route needed it. The guard lives in core now, with the
platform API's rule: every route but /health needs the token."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from fastapi.testclient import TestClient

import rohe
from rohe.serving.gateway import create_gateway_app

TOKEN = "gateway-attack-token-0123"
SERVICES = ("orchestration", "serving", "observation", "quality")


def test_no_service_module_imports_the_api_layer() -> None:
    root = Path(rohe.__file__).parent
    offenders = []
    for package in (*SERVICES, "core"):
        for file in (root / package).rglob("*.py"):
            for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                offenders += [f"{file.relative_to(root)}: {n}" for n in names if n.startswith("rohe.api")]
    assert offenders == []


def test_importing_the_gateway_app_loads_no_api_module() -> None:
    code = "import sys, rohe.serving.gateway.app; print(sorted(m for m in sys.modules if m.startswith('rohe.api')))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_with_a_token_every_gateway_route_but_health_needs_it() -> None:
    # The guard answers before any route runs, so a bare stand-in for the gateway is enough here.
    async def aclose() -> None:
        return None

    gateway = SimpleNamespace(app="shop", run="r1", aclose=aclose)
    with TestClient(create_gateway_app(gateway, TOKEN), raise_server_exceptions=False) as client:  # type: ignore[arg-type]
        assert client.get("/health").json()["application"] == "shop"
        for method, path in (("GET", "/stats"), ("GET", "/consumers"), ("GET", "/algorithms"),
                             ("POST", "/infer"), ("POST", "/feedback"), ("POST", "/consumers/c/policy"),
                             ("GET", "/openapi.json")):
            assert client.request(method, path, json={}).status_code == 401, path
