"""The console over HTTP, without a browser: the session cookie only authorises reads, signing in cannot
redirect off the console, report files stay inside the listed folders, the live stream speaks SSE, and gateway
controls fail with a clear 4xx/5xx instead of a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from console_fixtures import TOKEN, Console
from fastapi.testclient import TestClient
from seeding import seed

from rohe.api.app import create_app
from rohe.core.config import ApiSettings, Settings
from rohe.ui.auth import COOKIE

BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def seeded_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("http")
    seed(Settings(data_dir=work / "data"), nodes=4, replicas=8, windows=4, reports_dir=work / "data" / "reports")
    (work / "secret.txt").write_text("not a report")
    return work


@pytest.fixture
def secured(seeded_dir: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=seeded_dir / "data", api=ApiSettings(token=TOKEN))
    with TestClient(create_app(settings), follow_redirects=False) as client:
        yield client


@pytest.fixture
def open_client(seeded_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=seeded_dir / "data")), follow_redirects=False) as client:
        yield client


def _sign_in(client: TestClient, token: str = TOKEN, nxt: str = "/ui") -> httpx.Response:
    return client.post("/ui/login", content=f"token={token}&next={nxt}",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})


def test_without_a_token_the_console_is_open_on_loopback_and_matches_the_api(open_client: TestClient) -> None:
    assert open_client.get("/ui").status_code == 200
    totals = open_client.get("/ui/api/cluster").json()["totals"]
    nodes = open_client.get("/orchestration/nodes").json()
    assert totals["nodes"] == len(nodes)
    assert totals["cpu_used"] == sum(n["cpu_used"] for n in nodes)
    assert totals["queued"] == len(open_client.get("/orchestration/replicas?status=queueing").json())


def test_pages_redirect_to_sign_in_and_json_answers_401(secured: TestClient) -> None:
    page = secured.get("/ui/apps")
    assert page.status_code == 303 and page.headers["location"] == "/ui/login?next=/ui/apps"
    assert secured.get("/ui/api/cluster").status_code == 401
    assert secured.get("/ui/static/console.css").status_code == 200  # the sign-in page needs it
    assert secured.get("/ui/api/cluster", headers=BEARER).status_code == 200


def test_a_wrong_token_does_not_sign_in(secured: TestClient) -> None:
    response = _sign_in(secured, "not-the-token-at-all")
    assert response.status_code == 401 and COOKIE not in response.cookies
    assert "Wrong token" in response.text


def test_the_cookie_authorises_reads_and_the_plan_preview_but_no_change(secured: TestClient) -> None:
    response = _sign_in(secured)
    assert response.status_code == 303
    cookie = response.cookies[COOKIE]
    assert TOKEN not in cookie  # an HMAC of it, not the token
    assert "httponly" in response.headers["set-cookie"].lower()
    assert "samesite=strict" in response.headers["set-cookie"].lower()
    assert secured.get("/ui/api/cluster").status_code == 200
    assert secured.get("/orchestration/nodes").status_code == 200
    assert secured.post("/orchestration/plan").status_code == 200
    node = {"name": "forged", "cores": [1000], "memory": {"rss": 1, "vms": 1}}
    assert secured.post("/orchestration/nodes", json=node).status_code == 401
    assert secured.post("/orchestration/place").status_code == 401
    assert secured.post("/ui/api/serving/vision/r1/consumers/x/policy", json={}).status_code == 401
    secured.cookies.set(COOKIE, "0" * 64)
    assert secured.get("/ui/api/cluster").status_code == 401


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/ui", "/ui/..//evil", "/docs"])
def test_signing_in_never_redirects_off_the_console(secured: TestClient, target: str) -> None:
    response = _sign_in(secured, nxt=target)
    assert response.status_code == 303 and response.headers["location"] == "/ui"


def test_signing_in_returns_to_the_page_that_asked(secured: TestClient) -> None:
    assert _sign_in(secured, nxt="/ui/violations").headers["location"] == "/ui/violations"


def test_report_files_stay_inside_the_listed_folders(open_client: TestClient) -> None:
    folders = open_client.get("/ui/reports").text
    assert "reports/load-run-1" in folders
    ok = open_client.get("/ui/reports/file", params={"folder": "0/reports/load-run-1", "name": "summary.csv"})
    assert ok.status_code == 200 and ok.headers["content-security-policy"] == "sandbox"
    for folder, name in (("0/reports/load-run-1", "../../../secret.txt"), ("0/reports/load-run-1", "/etc/passwd"),
                         ("0/..", "secret.txt"), ("0/reports/load-run-1", "rohe.db"), ("/etc", "passwd")):
        response = open_client.get("/ui/reports/file", params={"folder": folder, "name": name})
        assert response.status_code == 404, (folder, name)
        assert response.json()["problems"]


def test_a_policy_change_for_a_run_without_a_gateway_is_a_clear_404(open_client: TestClient) -> None:
    response = open_client.post("/ui/api/serving/vision/r1/consumers/accuracy-first/policy", json={"degrade": False})
    assert response.status_code == 404
    assert response.json()["problems"][0]["location"] == "url"
    bad = open_client.post("/ui/api/serving/vision/r1/consumers/a/policy", json={"degrade": "sometimes"})
    assert bad.status_code == 422


def test_an_unknown_live_topic_is_a_404(open_client: TestClient) -> None:
    response = open_client.get("/ui/events", params={"topic": "secrets"})
    assert response.status_code == 404
    assert "cluster" in response.json()["problems"][0]["hint"]


def test_the_live_stream_is_server_sent_events_of_the_pages_json(console: Console) -> None:
    expected = console.api("GET", "/ui/api/violations").json()
    with httpx.stream("GET", f"{console.base}/ui/events", params={"topic": "violations"}, headers=BEARER,
                      timeout=30.0) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        event = next(line for line in lines if line.startswith("event:"))
        data = next(lines)
    assert event == "event: violations"
    assert json.loads(data.removeprefix("data: ")) == expected


def test_start_console_serves_the_callers_platform_and_returns_its_url(seeded_dir: Path) -> None:
    from rohe.platform import Platform
    from rohe.ui.server import start_console

    settings = Settings(data_dir=seeded_dir / "data")
    platform = Platform.open(settings)
    try:
        server, url = start_console(settings, platform)
        try:
            assert url.endswith("/ui") and url.startswith("http://127.0.0.1:")
            assert httpx.get(url, timeout=30).status_code == 200
            totals = httpx.get(f"{url}/api/cluster", timeout=30).json()["totals"]
            assert totals["nodes"] == len(platform.orchestration.list_nodes())
        finally:
            server.stop()
    finally:
        platform.close()
