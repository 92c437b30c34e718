"""/docs works offline: the page references no external URL and its Swagger UI assets come from the package."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

URL = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url\s*:\s*["']([^"']+)["']""")


def test_docs_page_references_only_its_own_server(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    html = page.text
    referenced = [a or b for a, b in URL.findall(html)]
    assert referenced, html
    assert all(ref.startswith("/") for ref in referenced), referenced
    assert "http://" not in html and "https://" not in html  # no CDN, no validator badge call
    assert '"validatorUrl": null' in html


def test_every_asset_the_page_references_is_served(client: TestClient) -> None:
    html = client.get("/docs").text
    for ref in (a or b for a, b in URL.findall(html)):
        answer = client.get(ref)
        assert answer.status_code == 200, ref
        assert answer.content, ref
    script = client.get("/docs/static/swagger-ui-bundle.js")
    assert "javascript" in script.headers["content-type"] and len(script.content) > 500_000
    assert client.get("/docs/static/swagger-ui.css").headers["content-type"].startswith("text/css")


def test_the_schema_is_still_served_and_redoc_is_not_offered(client: TestClient) -> None:
    assert client.get("/openapi.json").json()["info"]["title"] == "rohe"
    assert client.get("/redoc").status_code == 404
    assert client.get("/docs/oauth2-redirect").status_code == 200
    assert "/docs" not in client.get("/openapi.json").json()["paths"]
