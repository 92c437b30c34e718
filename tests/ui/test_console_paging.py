"""The cluster page shows the node table a page at a time (1,000 nodes in one table took Chromium 5 s), filters
by name, and keeps the totals of the whole cluster."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from seeding import seed

from rohe.api.app import create_app
from rohe.core.config import Settings

NODES = 250


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data = tmp_path_factory.mktemp("paging") / "data"
    seed(Settings(data_dir=data), nodes=NODES, replicas=20, consumers=1, windows=1, direct=True)
    with TestClient(create_app(Settings(data_dir=data))) as client:
        yield client


def rows(html: str) -> list[str]:
    return re.findall(r'<tr data-node="([^"]+)"', html)


def test_the_node_table_comes_a_page_at_a_time_with_the_whole_clusters_totals(client: TestClient) -> None:
    first = client.get("/ui/cluster").text
    assert rows(first) == [f"edge-{n:04d}" for n in range(100)]
    assert "nodes 1-100 of 250" in first and "page 1 of 3" in first and 'rel="next"' in first
    assert 'data-total="nodes">250<' in first  # the cards count every node, not the page's
    last = client.get("/ui/cluster", params={"page": 3}).text
    assert rows(last) == [f"edge-{n:04d}" for n in range(200, 250)] and 'rel="next"' not in last
    assert rows(client.get("/ui/cluster", params={"page": 99}).text) == rows(last)  # past the end: the last page
    assert len(rows(client.get("/ui/cluster", params={"per_page": 1000}).text)) == NODES


def test_a_name_filter_narrows_the_table_and_says_when_nothing_matches(client: TestClient) -> None:
    page = client.get("/ui/cluster", params={"q": "EDGE-001"}).text
    assert rows(page) == [f"edge-{n:04d}" for n in range(10, 20)] and "of 10 matching" in page
    assert rows(client.get("/ui/cluster", params={"q": "nope"}).text) == []
    assert "No node name contains" in client.get("/ui/cluster", params={"q": "nope"}).text


@pytest.mark.parametrize("params", [{"page": 0}, {"per_page": 5}, {"per_page": 5000}, {"q": "x" * 201}])
def test_bad_paging_is_a_422_naming_the_parameter(client: TestClient, params: dict[str, object]) -> None:
    reply = client.get("/ui/cluster", params=params)
    assert reply.status_code == 422 and next(iter(params)) in reply.text
