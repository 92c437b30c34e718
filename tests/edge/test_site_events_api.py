"""The central side of a site's outbox: `POST /observation/site-events` stores each (site, event id) once on
SQLite and PostgreSQL, refuses bad bodies with 422 naming the field, needs the token, and lists events with
their site and with secrets redacted; `rohe observation site-events` shows them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from rohe.api.app import create_app
from rohe.cli.main import app as cli
from rohe.core.config import ApiSettings, Settings
from rohe.core.storage import Store
from rohe.observation.site_events import SiteEventBatch, SiteEventLog

TOKEN = "s3cret-site-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def event(n: int, kind: str = "policy", **payload: Any) -> dict[str, Any]:
    return {"event_id": f"{kind}:{n:04d}", "kind": kind, "app": "edge-test", "run": "r1",
            "occurred_at": f"2026-12-03T10:00:{n % 60:02d}+00:00", "payload": {"consumer": "cam", **payload}}


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path / "central", api=ApiSettings(token=TOKEN))
    with TestClient(create_app(settings)) as client:
        yield client


def test_a_resend_is_a_no_op_on_both_databases(store: Store) -> None:
    log = SiteEventLog(store)
    first = SiteEventBatch.model_validate({"site": "edge-a", "events": [event(n) for n in range(5)]})
    assert log.record(first).model_dump() == {"stored": 5, "duplicates": 0}
    # A crash between the centre's answer and the site's cursor: the same batch again, plus one new event.
    again = SiteEventBatch.model_validate({"site": "edge-a", "events": [event(n) for n in range(6)]})
    assert log.record(again).model_dump() == {"stored": 1, "duplicates": 5}
    # Another site may reuse an id: events are the site's own.
    other = SiteEventBatch.model_validate({"site": "edge-b", "events": [event(0)]})
    assert log.record(other).model_dump() == {"stored": 1, "duplicates": 0}
    listed = log.list()
    assert [(e.site, e.event_id) for e in listed].count(("edge-a", "policy:0000")) == 1
    assert len(listed) == 7
    assert {e.event_id for e in log.list(site="edge-a")} == {f"policy:{n:04d}" for n in range(6)}
    assert [e.event_id for e in log.list(site="edge-a", limit=2)] == ["policy:0004", "policy:0005"]


def test_the_route_needs_the_token(secured: TestClient) -> None:
    body = {"site": "edge-a", "events": [event(1)]}
    assert secured.post("/observation/site-events", json=body).status_code == 401
    assert secured.get("/observation/site-events").status_code == 401
    assert secured.post("/observation/site-events", json=body, headers={"Authorization": "Bearer wrong"}) \
        .status_code == 401
    assert secured.get("/observation/site-events", headers=AUTH).json() == []


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"events": [event(1)]}, ["body", "site"]),
        ({"site": "edge a/../x", "events": [event(1)]}, ["body", "site"]),
        ({"site": "edge-a", "events": []}, ["body", "events"]),
        ({"site": "edge-a", "events": [{**event(1), "kind": "reboot"}]}, ["body", "events", 0, "kind"]),
        ({"site": "edge-a", "events": [{**event(1), "occurred_at": "2026-12-03T10:00:00"}]},
         ["body", "events", 0, "occurred_at"]),
        ({"site": "edge-a", "events": [{**event(1), "event_id": ""}]}, ["body", "events", 0, "event_id"]),
        ({"site": "edge-a", "events": [{**event(1), "extra": 1}]}, ["body", "events", 0, "extra"]),
        ({"site": "edge-a", "events": [event(1, blob="x" * 70_000)]}, ["body", "events", 0, "payload"]),
        ({"site": "edge-a", "events": [event(n) for n in range(501)]}, ["body", "events"]),
    ],
)
def test_bad_bodies_get_422_naming_the_field(secured: TestClient, body: dict[str, Any], where: list[Any]) -> None:
    reply = secured.post("/observation/site-events", json=body, headers=AUTH)
    assert reply.status_code == 422, reply.text
    assert any(detail["loc"] == where for detail in reply.json()["detail"]), reply.json()
    assert secured.get("/observation/site-events", headers=AUTH).json() == []  # nothing half-stored


def test_listing_shows_the_site_and_redacts_secrets(secured: TestClient, tmp_path: Path) -> None:
    body = {"site": "edge-a", "events": [
        event(1, kind="decision", note="sent to mqtt://user:hunter2@broker:1883/x", api_token="hunter2"),
        event(2, kind="violation", clause="p99 <= 500"),
    ]}
    reply = secured.post("/observation/site-events", json=body, headers=AUTH)
    assert reply.status_code == 200 and reply.json() == {"stored": 2, "duplicates": 0}
    listed = secured.get("/observation/site-events", params={"site": "edge-a"}, headers=AUTH).json()
    assert [(e["site"], e["kind"]) for e in listed] == [("edge-a", "decision"), ("edge-a", "violation")]
    assert "hunter2" not in str(listed)
    assert listed[0]["payload"]["api_token"] == "<redacted>"
    assert listed[0]["received_at"] and listed[0]["occurred_at"].startswith("2026-12-03T10:00:01")
    assert secured.get("/observation/site-events", params={"kind": "violation"}, headers=AUTH).json()[0][
        "payload"]["clause"] == "p99 <= 500"


def test_the_cli_lists_site_events_from_the_local_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROHE_DATA_DIR", str(tmp_path / "data"))
    with Store.open(Settings(data_dir=tmp_path / "data")) as store:
        SiteEventLog(store).record(SiteEventBatch.model_validate(
            {"site": "edge-a", "events": [event(1, degrade=True), event(2, kind="violation", clause="p99 <= 500")]}))
    result = CliRunner().invoke(cli, ["observation", "site-events", "--json"])
    assert result.exit_code == 0, result.output
    assert '"site": "edge-a"' in result.output and "p99 <= 500" in result.output
    table = CliRunner().invoke(cli, ["observation", "site-events", "--kind", "violation"], env={"COLUMNS": "200"})
    assert table.exit_code == 0 and "edge-a" in table.output and "policy" not in table.output
    bad = CliRunner().invoke(cli, ["observation", "site-events", "--limit", "0"])
    assert bad.exit_code != 0
